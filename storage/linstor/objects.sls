# -*- coding: utf-8 -*-
# vim: ft=sls
{#- LINSTOR objects, written by the controller minion only (one writer) through the linstor
    states (read -> diff -> write only the difference -> verify), `controllers` passed
    explicitly (storage:linstor:controllers, see storage/linstor/map.jinja):

      storage-linstor-controller-api       bounded wait for the REST API (GET
                                           /v1/controller/version, storage:lookup:linstor:
                                           api_wait seconds), so a controller that is still
                                           starting fails nothing below
      storage-linstor-node-<node>          every satellite, address = its storage-network
                                           address; front-ends Combined, the others Satellite
      storage-linstor-pool-<pool>-<node>   every pool of storage:linstor:pools on every
                                           satellite (or on the pool's `nodes`)
      storage-linstor-resource-group       storage:linstor:resource_group: place_count,
                                           storage pool(s), DRBD options as properties

    Under stack pacemaker these run last in the highstate (order: last): the controller is a
    Pacemaker resource and on a new cluster only exists once pacemaker.resources has written
    the graph. An existing pool on another backing pool or driver is never recreated (the
    state fails, see _states/linstor.py). -#}
{%- from "storage/linstor/map.jinja" import linstor with context %}
{%- set L = linstor.lookup %}
{%- set ctl = linstor.controllers %}

storage-linstor-controller-api:
  http.wait_for_successful_query:
    - name: {{ linstor.api_url }}/v1/controller/version
    - status: 200
    - wait_for: {{ L.api_wait }}
    - request_interval: {{ L.api_wait_interval }}
    - verify_ssl: false
{%- if linstor.order_last %}
    - order: last
{%- endif %}
{%- for name, node in linstor.nodes | dictsort %}

storage-linstor-node-{{ name }}:
  linstor.node_present:
    - name: {{ name }}
    - address: {{ node.address }}
    - node_type: {{ node.node_type }}
    - controllers: {{ ctl | tojson }}
{%-   if linstor.order_last %}
    - order: last
{%-   endif %}
    - require:
      - http: storage-linstor-controller-api
{%- endfor %}
{%- for pool in linstor.pools %}

storage-linstor-pool-{{ pool.name }}-{{ pool.node }}:
  linstor.storage_pool_present:
    - name: {{ pool.name }}
    - node: {{ pool.node }}
    - driver: {{ pool.driver }}
{%-   if pool.driver_pool %}
    - driver_pool: {{ pool.driver_pool }}
{%-   endif %}
{%-   if pool.properties %}
    - properties: {{ pool.properties | tojson }}
{%-   endif %}
    - controllers: {{ ctl | tojson }}
{%-   if linstor.order_last %}
    - order: last
{%-   endif %}
    - require:
{%-   if pool.node in linstor.nodes %}
      - linstor: storage-linstor-node-{{ pool.node }}
{%-   else %}
      - http: storage-linstor-controller-api
{%-   endif %}
{%- endfor %}
{%- set rg = linstor.resource_group %}

storage-linstor-resource-group:
  linstor.resource_group_present:
    - name: {{ rg.name }}
    - place_count: {{ rg.place_count }}
    - storage_pool: {{ rg.storage_pool | tojson }}
{%- if rg.properties %}
    - properties: {{ rg.properties | tojson }}
{%- endif %}
    - controllers: {{ ctl | tojson }}
{%- if linstor.order_last %}
    - order: last
{%- endif %}
    - require:
      - http: storage-linstor-controller-api
{%- for pool in linstor.pools %}
      - linstor: storage-linstor-pool-{{ pool.name }}-{{ pool.node }}
{%- endfor %}
