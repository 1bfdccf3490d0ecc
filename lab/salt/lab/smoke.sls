# Trivial lab state: proves the lab plumbing (salt-ssh and salt-master) end to end.
lab-smoke-ping:
  test.succeed_without_changes:
    - name: lab plumbing answers

lab-smoke-marker:
  file.managed:
    - name: /etc/onelab-smoke
    - contents: "managed by the lab (lab/salt/lab/smoke.sls) on {{ grains['id'] }}"
    - mode: '0644'
