"""`gitops bootstrap` and `gitops roles`: an environment's state backend and pipeline roles."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from gitops.stacks import load_configs, one_config
from infra.config import EnvironmentConfig


def roles_for(
    config: EnvironmentConfig, repository: str, outdir: Path, no_synth: bool = False
) -> dict[str, Any]:
    """The roles document of `config`, from its synthesized stack (synthesized here unless
    `no_synth`)."""
    from gitops.bootstrap.roles import roles_document
    from gitops.errors import UsageError
    from gitops.stacks import read_stack, synthesize

    stack_file = outdir / "stacks" / config.stack_name / "cdk.tf.json"
    if not no_synth:
        synthesize([config], outdir)
    elif not stack_file.is_file():
        raise UsageError(f"{stack_file}: no synthesized stack; run `gitops synth {config.name}`")
    return roles_document(config, repository, read_stack(stack_file), str(stack_file))


def roles(args: argparse.Namespace) -> None:
    from gitops.bootstrap.github_oidc import check_repository

    repository = check_repository(args.github_repository)
    (config,) = load_configs([args.environment])
    document = roles_for(config, repository, args.outdir, args.no_synth)
    print(json.dumps(document, indent=2))


def bootstrap(args: argparse.Namespace) -> None:
    from gitops.bootstrap.github_oidc import check_repository
    from gitops.bootstrap.state_backend import bootstrap as bootstrap_environment
    from gitops.paths import work_dir, write_atomically

    repository = check_repository(args.github_repository) if args.github_repository else None
    config = one_config(args.environment)
    document = roles_for(config, repository, args.outdir) if repository else None
    report = bootstrap_environment(config, document)
    for item in report.created:
        print(f"created   {item}")
    for item in report.unchanged:
        print(f"unchanged {item}")
    print(f"{config.name}: state backend ready ({len(report.created)} created)")
    if report.role_arns:
        roles_file = write_atomically(
            work_dir() / "roles" / f"{config.name}.json",
            json.dumps(report.role_arns, indent=2, sort_keys=True) + "\n",
        )
        print(f"role ARNs written to {roles_file}:")
        expected = {"plan_role": config.plan_role_arn, "apply_role": config.apply_role_arn}
        for name, arn in sorted(report.role_arns.items()):
            same = arn == expected.get(name)
            note = (
                "the workflows derive it from the file"
                if same
                else (
                    f"the file names {expected.get(name)}; set pipeline.{name}_arn to use this one"
                )
            )
            print(f"  {name}: {arn} ({note})")
