# -*- coding: utf-8 -*-
# vim: ft=sls
{#- The formula's resource agent for the service slots of ha_group (OpenNebula, the proxy,
    the LINSTOR controller), on every front-end (Pacemaker probes and runs it on each):
      pacemaker-agents-systemdunit    ocf:<agent_provider>:SystemdUnit (template
                                      SystemdUnit.jinja): `systemctl start`/`stop` that
                                      return when the unit is up/down; no reload of systemd's
                                      configuration at a start (the reload blocks on a FUSE
                                      mount whose server died: the MooseFS datastores) and no
                                      2 s polling (Pacemaker's systemd class)
      pacemaker-agents-dropin-<unit>  what the systemd class writes before every start, laid
                                      down once: ordered Before=pacemaker.service (stopped
                                      after Pacemaker at shutdown), Restart=no (a crash is
                                      Pacemaker's to recover); `systemctl daemon-reload` when
                                      one changed
    With pacemaker:lookup:service_agent `systemd` only the agent file is installed (unused)
    and Pacemaker's systemd class writes its own drop-ins. -#}
{%- from "pacemaker/map.jinja" import model, pacemaker with context %}
{%- from "common/libtofs.jinja" import files_switch with context %}
{%- set L = pacemaker.lookup %}
{%- set agent = L.agent_dir ~ "/" ~ L.agent_provider ~ "/SystemdUnit" %}

pacemaker-agents-systemdunit:
  file.managed:
    - name: {{ agent | tojson }}
    - source: {{ files_switch(["SystemdUnit.jinja"], lookup="pacemaker-agents-systemdunit", tplroot="pacemaker") }}
    - template: jinja
    - mode: '0755'
    - user: root
    - group: root
    - makedirs: true
    - context:
        agent: {{ agent | tojson }}
        provider: {{ L.agent_provider | tojson }}
{%- if (L.service_agent | string) != "systemd" %}
{#-   the units of the service slots, as pacemaker.resources picks them #}
{%-   set slots = (["linstor_controller"] if model.variant == "linstor" else [])
                  + (pacemaker.get("services", ["opennebula"]) or [])
                  + [model.settings.opennebula.proxy.server] %}
{%-   set dropins = [] %}
{%-   for slot in slots %}
{%-     set svc = L.service_resources.get(slot) %}
{%-     if svc %}
{%-       set unit = svc.unit | string %}
{%-       set unit = unit if "." in unit else unit ~ ".service" %}
{%-       do dropins.append("pacemaker-agents-dropin-" ~ unit) %}

pacemaker-agents-dropin-{{ unit }}:
  file.managed:
    - name: {{ (L.unit_dropin_dir ~ "/" ~ unit ~ ".d/" ~ L.unit_dropin_name) | tojson }}
    - makedirs: true
    - mode: '0644'
    - contents: |
        # managed by Salt (opennebula-ha-formula, pacemaker.agents): {{ unit }} is run by
        # Pacemaker (ocf:{{ L.agent_provider }}:SystemdUnit), stopped after it at shutdown
        [Unit]
        Description=Cluster Controlled {{ unit }}
        Before=pacemaker.service pacemaker_remote.service

        [Service]
        Restart=no
{%-     endif %}
{%-   endfor %}
{%-   if dropins %}

pacemaker-agents-daemon-reload:
  argv.run:
    - argv: [systemctl, daemon-reload]
    - onchanges:
{%-     for sid in dropins %}
      - file: {{ sid }}
{%-     endfor %}
{%-   endif %}
{%- endif %}
