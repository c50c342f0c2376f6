"""What programs inside a pod see: the resolv.conf the resolver uses, and busybox wget's options."""

import k8slab

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  dnsConfig: {options: [{name: ndots, value: "1"}]}
  containers:
  - {name: nginx, image: "nginx:1.27"}
  - {name: shell, image: "busybox:1.36", command: [sleep, "3600"]}
"""


def test_the_file_in_the_pod_is_the_one_the_resolver_reads():
    c = k8slab.Cluster(workers=1, seed=0)
    c.apply(POD)
    c.run()
    in_pod = c.kubectl("exec web -c shell -- cat /etc/resolv.conf")
    assert in_pod == c.dns.resolv_conf(from_pod="web")
    assert "options ndots:1" in in_pod


def test_busybox_wget_takes_option_values_and_says_who_it_is():
    c = k8slab.Cluster(workers=1, seed=0)
    c.apply(POD)
    c.run()
    page = c.kubectl("exec web -c shell -- wget -q -T 5 -O - http://localhost/")
    assert page.returncode == 0 and "Welcome to nginx!" in page
    assert str(c.kubectl("logs web -c nginx --tail=1")).rstrip().endswith('"GET / HTTP/1.1" 200 615 "-" "Wget" "-"')


def test_the_first_container_reaches_localhost_of_its_own_pod():
    # the first container is created before the pod has its IP in the API: its world must still know it
    c = k8slab.Cluster(workers=1, seed=0)
    c.apply("""\
apiVersion: v1
kind: Pod
metadata: {name: site}
spec:
  containers:
  - {name: writer, image: "busybox:1.36", command: [sleep, "3600"]}
  - {name: web, image: "nginx:1.27"}
""")
    c.run()
    page = c.kubectl("exec site -c writer -- wget -qO- http://localhost")
    assert page.returncode == 0 and "Welcome to nginx!" in page
