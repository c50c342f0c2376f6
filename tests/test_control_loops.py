"""How the control loops meet the API server: one watch per resource, and retries that let run() settle."""

import k8slab


def test_kube_controller_manager_opens_one_watch_per_resource():
    c = k8slab.Cluster(workers=1, seed=0)
    mark = c.trace.mark()
    c.kubectl("create deployment web --image=nginx:1.27")
    c.run()
    added = [e for e in c.trace.since(mark) if e.type == "watch" and e.verb == "ADDED"
             and e.actor == "kube-controller-manager"]
    by_resource = {}
    for e in added:
        by_resource.setdefault((e.resource, e.object_ref), []).append(e)
    assert by_resource[("deployments", "default/web")] and by_resource[("replicasets", added[1].object_ref)]
    assert all(len(events) == 1 for events in by_resource.values()), by_resource


def test_a_list_request_names_only_its_namespace_in_the_trace():
    c = k8slab.Cluster(workers=1, seed=0)
    mark = c.trace.mark()
    c.kubectl("get pods")
    (listed,) = [e for e in c.trace.since(mark) if e.verb == "list"]
    assert str(listed).endswith("kubectl → apiserver: list pods default → 200")


def test_a_create_that_keeps_being_denied_retries_for_ever_but_run_settles():
    c = k8slab.Cluster(workers=1, seed=0)

    @c.admission("deny-pods", kinds=["Pod"])
    def deny(request, obj, old):
        return "no pods today"

    c.kubectl("create deployment web --image=nginx:1.27")
    start = c.now
    c.run()
    assert c.now - start < 10  # the ReplicaSet controller's back-off went past a second, then run() returned
    assert "no pods today" in c.kubectl("get events --field-selector reason=FailedCreate")
    c.remove_admission("deny-pods")
    c.run(seconds=60)  # the next retry (a background one) creates the pod once time passes
    assert [p["status"]["phase"] for p in c.get("pods")] == ["Running"]
