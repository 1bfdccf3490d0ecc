#!/usr/bin/env python3
"""Generate a scale pillar: 2 front-ends + N hypervisors (default 200), storage variant
linstor (every node a satellite with the two pools of pillar.example -> 2N pools), every
hypervisor registered as an OpenNebula host. Based on pillar.example + test secrets.

    .venv/bin/python bench/gen_pillar.py [--hypervisors 200] [--variant linstor] > pillar.yaml
"""
import argparse
import pathlib
import sys

import yaml

REPO = pathlib.Path(__file__).resolve().parent.parent


def scale_pillar(hypervisors=200, variant="linstor"):
    data = yaml.safe_load((REPO / "pillar.example").read_text())
    secrets = yaml.safe_load((REPO / "test" / "pillar" / "secrets.yaml").read_text())["secrets"]
    data["secrets"].update(secrets)
    data["cluster"]["networks"] = {"san": "192.168.0.0/16", "lan": "10.10.0.0/16"}
    data["cluster"]["frontends"] = {
        "cloud-cc01": {"san": "192.168.0.11", "lan": "10.10.0.21"},
        "cloud-cc02": {"san": "192.168.0.12", "lan": "10.10.0.22"},
    }
    data["cluster"]["vips"] = {"san": "192.168.0.10", "lan": "10.10.0.12"}
    data["cluster"]["hypervisors"] = {
        f"hv{i:03d}": {"san": f"192.168.{1 + i // 250}.{1 + i % 250}"} for i in range(hypervisors)
    }
    data["storage"]["variant"] = variant
    data["storage"]["linstor"]["controller"] = "cloud-cc01"
    return data


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hypervisors", type=int, default=200)
    ap.add_argument("--variant", default="linstor")
    args = ap.parse_args(argv)
    yaml.safe_dump(scale_pillar(args.hypervisors, args.variant), sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
