"""`gitops local up|down|status`: the whole stack in the local AWS emulator."""

from __future__ import annotations

import argparse

from gitops.stacks import load_configs, synthesize_if_changed


def local(args: argparse.Namespace) -> None:
    from gitops.emulator import local as local_stack

    if args.action == "up":
        load_configs(["local"])
        local_stack.up(synthesize_if_changed, args.outdir, args.port)
    elif args.action == "down":
        local_stack.down(synthesize_if_changed, args.outdir)
    else:
        for line in local_stack.status():
            print(line)
