"""labkit: the opennebula-ha-formula lab, one package (lab/ on sys.path: `import labkit`).

    core        paths, output, commands, processes by PID, failures, timings, lab pillar,
                generated secrets, ssh (both tiers)
    saltrun     salt-ssh / salt-master configs, the salt-master method, a state run streamed
                host by host, highstate summaries (both tiers)
    containers  the container tier: systemd-nspawn hosts, bridge + nft (`make lab`)
    vms         the VM tier: QEMU TCG guests in a netns (`make lab VARIANT=drbd_aoe_lvm|nfs`)
    checks      cluster probes (crm_mon, CIB, VIP/ARP, failover) for test/lab/ and bench/
    vmlab       the VM tier's test/bench harness (DRBD, crm_mon, checksums)
    cloud       the lab's steps on OpenNebula through oned's XML-RPC API (pyone)
    prereqs     the host tools each tier needs, checked and installed (standard library only:
                runs on the system python3 before .venv exists)
    cli         the command line: `python -m labkit container|vm CMD ...`

Importing this package imports nothing else (prereqs must run without the venv).
"""
