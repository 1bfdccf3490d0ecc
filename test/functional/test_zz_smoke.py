import sys, importlib.util, pathlib
spec = importlib.util.spec_from_file_location("oned_double", "/work/main/test/doubles/oned_double.py")
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)

def test_smoke(salt_loaders, tmp_path):
    with m.OnedDouble() as d:
        conn = dict(endpoint=d.endpoint, username="oneadmin", password="opennebula")
        st = salt_loaders.states
        r = st.one.datastore_present(name="lin_sys", template={"TYPE": "SYSTEM_DS", "TM_MAD": "linstor", "LINSTOR_AUTO_PLACE": 2, "BRIDGE_LIST": ["a","b"]}, **conn)
        print(r)
        salt_loaders.context.clear(); d.reset_calls()
        r = st.one.datastore_present(name="lin_sys", template={"TYPE": "SYSTEM_DS", "TM_MAD": "linstor", "LINSTOR_AUTO_PLACE": 2, "BRIDGE_LIST": ["a","b"]}, **conn)
        print(r, d.counts())
        r = st.one.host_present(name="n1", im_mad="kvm", vm_mad="kvm", **conn)
        print(r, d.counts())
        r = st.one.cluster_present(name="c", hosts=["n1"], datastores=["lin_sys"], **conn)
        print(r, d.counts())
        print(salt_loaders.modules.one.recover_transient(**conn))
