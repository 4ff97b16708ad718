"""`gitops bootstrap`: an environment's state backend and, optionally, its pipeline roles."""

from __future__ import annotations

import argparse
import json

from gitops.stacks import one_config


def bootstrap(args: argparse.Namespace) -> None:
    from gitops.bootstrap.github_oidc import check_repository
    from gitops.bootstrap.state_backend import bootstrap as bootstrap_environment
    from gitops.paths import work_dir, write_atomically

    repository = check_repository(args.github_repository) if args.github_repository else None
    config = one_config(args.environment)
    report = bootstrap_environment(config, repository)
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
