"""ConfigMaps, Secrets and pod volumes as a learner meets them, end to end on a small cluster.

Each test applies manifests to ``Cluster(workers=2, seed=0)``, lets the virtual
clock run, and reads the result the way the course does: ``kubectl logs``,
``kubectl exec ... cat``, ``kubectl get -o yaml`` and the stored objects.
"""

from __future__ import annotations

import base64

import pytest
import yaml

import k8slab
from k8slab.api import errors

APP_CONFIG = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
data:
  color: blue
  mode: dev
  app.properties: |
    greeting=hello
    level=3
"""


@pytest.fixture
def c():
    return k8slab.Cluster(workers=2, seed=0)


def _pod(name: str, script: str | None, extra: str = "", volumes: str = "", restart: str = "Always") -> str:
    """A busybox pod running ``sh -c script`` (``extra`` is more of the container, indented)."""
    command = f'    command: ["sh", "-c", "{script}"]\n' if script is not None else ""
    text = f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  restartPolicy: {restart}
  containers:
  - name: main
    image: busybox:1.36
{command}{extra}"""
    if volumes:
        text += "  volumes:\n" + volumes
    return text


def _out(result) -> str:
    return str(result)


# -- ConfigMap as environment --------------------------------------------------------------------------


def test_configmap_keys_as_env_and_envfrom_with_a_prefix(c):
    c.apply(APP_CONFIG)
    c.apply(_pod("envs", "echo COLOR=$COLOR; env | grep ^APP_ | sort; sleep 3600", """\
    env:
    - name: COLOR
      valueFrom:
        configMapKeyRef: {name: app-config, key: color}
    envFrom:
    - prefix: APP_
      configMapRef: {name: app-config}
"""))
    c.run()
    # app.properties is a valid variable name once prefixed (dots are allowed)
    assert _out(c.kubectl("logs envs")) == (
        "COLOR=blue\nAPP_app.properties=greeting=hello\nAPP_color=blue\nAPP_mode=dev\n"
    )
    assert _out(c.kubectl("exec envs -- printenv APP_mode")) == "dev\n"


def test_configmap_values_in_command_arguments_are_expanded_once(c):
    c.apply(APP_CONFIG)
    # $(VAR) is expanded by the kubelet, $$(VAR) escapes it, an unknown $(VAR) stays as written
    c.apply(_pod("args", None, """\
    command: ["echo"]
    args: ["color=$(COLOR)", "escaped=$$(COLOR)", "missing=$(NOPE)"]
    env:
    - name: COLOR
      valueFrom:
        configMapKeyRef: {name: app-config, key: color}
""", restart="Never"))
    c.run()
    assert _out(c.kubectl("logs args")) == "color=blue escaped=$(COLOR) missing=$(NOPE)\n"
    assert c.get("pod", "args")["status"]["phase"] == "Succeeded"


# -- ConfigMap as files ------------------------------------------------------------------------------


def test_configmap_as_files_one_per_key_items_rename_and_default_mode(c):
    c.apply(APP_CONFIG)
    c.apply(_pod("files", "cat /etc/config/color; echo; cat /etc/picked/colors/favourite; echo; sleep 3600", """\
    volumeMounts:
    - {name: config, mountPath: /etc/config}
    - {name: picked, mountPath: /etc/picked}
""", volumes="""\
  - name: config
    configMap:
      name: app-config
  - name: picked
    configMap:
      name: app-config
      defaultMode: 0400
      items:
      - {key: color, path: colors/favourite}
"""))
    c.run()
    assert _out(c.kubectl("logs files")) == "blue\nblue\n"
    assert _out(c.kubectl("exec files -- ls /etc/config")) == "app.properties\ncolor\nmode\n"
    assert _out(c.kubectl("exec files -- cat /etc/config/app.properties")) == "greeting=hello\nlevel=3\n"
    # items: only the keys listed, under the paths given
    assert _out(c.kubectl("exec files -- ls /etc/picked")) == "colors\n"
    assert _out(c.kubectl("exec files -- ls /etc/picked/colors")) == "favourite\n"
    volumes = c.get("pod", "files")["spec"]["volumes"]
    # YAML's 0400 is octal: the API stores 256; an unset mode is the default 0644 (420)
    assert [v["configMap"]["defaultMode"] for v in volumes if "configMap" in v] == [420, 256]


def test_an_updated_configmap_does_not_change_the_environment_of_a_running_container(c):
    c.apply(APP_CONFIG)
    c.apply(_pod("reader", "sleep 3600", """\
    env:
    - name: COLOR
      valueFrom:
        configMapKeyRef: {name: app-config, key: color}
"""))
    c.run()
    c.apply(APP_CONFIG.replace("color: blue", "color: green"))
    c.run(seconds=180)
    assert c.get("configmap", "app-config")["data"]["color"] == "green"
    assert _out(c.kubectl("exec reader -- printenv COLOR")) == "blue\n"


def test_an_updated_configmap_eventually_changes_the_mounted_file(c):
    c.apply(APP_CONFIG)
    c.apply(_pod("reader", "sleep 3600", """\
    volumeMounts:
    - {name: config, mountPath: /etc/config}
    env:
    - name: COLOR
      valueFrom: {configMapKeyRef: {name: app-config, key: color}}
""", volumes="""\
  - name: config
    configMap: {name: app-config}
"""))
    c.run()
    c.apply(APP_CONFIG.replace("level=3", "level=4").replace("color: blue", "color: green"))
    c.run(seconds=1)
    assert "level=3" in _out(c.kubectl("exec reader -- cat /etc/config/app.properties"))  # not yet
    c.run(seconds=60)  # the kubelet's next periodic sync of the pod (--sync-frequency 1m)
    assert _out(c.kubectl("exec reader -- cat /etc/config/app.properties")) == "greeting=hello\nlevel=4\n"
    assert _out(c.kubectl("exec reader -- cat /etc/config/color")) == "green"
    assert _out(c.kubectl("exec reader -- sh -c 'echo $COLOR'")) == "blue\n"  # the environment never changes
    # the kubelet watches the ConfigMap (one LIST and WATCH, pinned by name); later syncs send nothing
    mark = c.trace.mark()
    c.run(seconds=180)
    assert [e for e in c.trace.since(mark) if e.type == "request" and e.actor.startswith("kubelet")
            and e.resource == "configmaps"] == []


# -- missing and optional ConfigMaps -----------------------------------------------------------------------


def test_a_missing_configmap_holds_the_container_until_it_is_created(c):
    c.apply(_pod("waiter", "echo level=$LEVEL; sleep 3600", """\
    env:
    - name: LEVEL
      valueFrom:
        configMapKeyRef: {name: settings, key: level}
"""))
    c.run(seconds=30)
    pod = c.get("pod", "waiter")
    assert pod["status"]["phase"] == "Pending"
    assert pod["status"]["containerStatuses"][0]["state"] == {
        "waiting": {"reason": "CreateContainerConfigError", "message": 'configmap "settings" not found'}
    }
    assert _out(c.kubectl("get pod waiter")).splitlines()[1].split()[:3] == [
        "waiter", "0/1", "CreateContainerConfigError"]
    failed = [e for e in c.get("events") if e["reason"] == "Failed" and e["involvedObject"]["name"] == "waiter"]
    assert [e["message"] for e in failed] == ['Error: configmap "settings" not found']

    c.apply("""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  level: debug
""")
    c.run(seconds=60)
    pod = c.get("pod", "waiter")
    assert pod["status"]["phase"] == "Running"
    assert list(pod["status"]["containerStatuses"][0]["state"]) == ["running"]
    assert _out(c.kubectl("logs waiter")) == "level=debug\n"


def test_a_missing_key_is_an_error_too(c):
    c.apply(APP_CONFIG)
    c.apply(_pod("nokey", "sleep 3600", """\
    env:
    - name: LEVEL
      valueFrom:
        configMapKeyRef: {name: app-config, key: level}
"""))
    c.run(seconds=30)
    assert c.get("pod", "nokey")["status"]["containerStatuses"][0]["state"]["waiting"] == {
        "reason": "CreateContainerConfigError",
        "message": "couldn't find key level in ConfigMap default/app-config",
    }


def test_an_optional_missing_configmap_is_fine(c):
    c.apply(_pod("relaxed", "echo level=$LEVEL; ls /etc/config; echo listed; sleep 3600", """\
    env:
    - name: LEVEL
      valueFrom:
        configMapKeyRef: {name: settings, key: level, optional: true}
    volumeMounts:
    - {name: config, mountPath: /etc/config}
""", volumes="""\
  - name: config
    configMap: {name: settings, optional: true}
"""))
    c.run()
    assert c.get("pod", "relaxed")["status"]["phase"] == "Running"
    # the variable is not set at all, and the volume is an empty directory
    assert _out(c.kubectl("logs relaxed")) == "level=\nlisted\n"
    assert c.kubectl("exec relaxed -- printenv LEVEL").returncode == 1


# -- Secrets ----------------------------------------------------------------------------------------------


def test_secret_data_is_base64_that_anyone_who_reads_the_secret_decodes(c):
    c.apply("""\
apiVersion: v1
kind: Secret
metadata:
  name: db
data:
  username: YWRtaW4=
stringData:
  password: s3cret
""")
    secret = c.get("secret", "db")
    # stringData was merged into data (base64) and is not stored
    assert secret["data"] == {"password": "czNjcmV0", "username": "YWRtaW4="}
    assert "stringData" not in secret and secret["type"] == "Opaque"
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == {
        "password": "s3cret", "username": "admin"}
    # what kubectl shows is just as easy to decode
    shown = yaml.safe_load(_out(c.kubectl("get secret db -o yaml")))
    assert base64.b64decode(shown["data"]["password"]) == b"s3cret"
    assert "stringData" not in shown
    # ...and kubectl apply kept the manifest, stringData in plain text, in an annotation
    assert '"stringData":{"password":"s3cret"}' in shown["metadata"]["annotations"][
        "kubectl.kubernetes.io/last-applied-configuration"]


def test_stringdata_overwrites_data_and_pods_see_plain_text(c):
    c.apply("""\
apiVersion: v1
kind: Secret
metadata:
  name: db
data:
  password: b2xk
stringData:
  password: new
""")
    assert c.get("secret", "db")["data"] == {"password": "bmV3"}
    c.apply(_pod("app", "echo password=$PASSWORD; cat /etc/db/password; echo; sleep 3600", """\
    env:
    - name: PASSWORD
      valueFrom:
        secretKeyRef: {name: db, key: password}
    volumeMounts:
    - {name: db, mountPath: /etc/db, readOnly: true}
""", volumes="""\
  - name: db
    secret: {secretName: db}
"""))
    c.run()
    assert _out(c.kubectl("logs app")) == "password=new\nnew\n"
    assert c.get("pod", "app")["spec"]["volumes"][0]["secret"] == {"secretName": "db", "defaultMode": 420}


def test_a_secret_value_that_is_not_base64_is_refused(c):
    with pytest.raises(errors.BadRequest) as e:
        c.apply("""\
apiVersion: v1
kind: Secret
metadata:
  name: bad
data:
  API_KEY: af76fsdK_cQ89_Hj1Aq
""")
    assert e.value.message == (
        'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 8')
    assert [s["metadata"]["name"] for s in c.get("secrets")] == []


def test_a_tls_secret_needs_its_two_keys(c):
    cert = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cert"},
            "type": "kubernetes.io/tls", "stringData": {"tls.crt": "CERT"}}
    # the API server's answer (stringData has become data by the time it validates)...
    with pytest.raises(errors.Invalid) as e:
        c.api.client("kubectl").create(cert, "default")
    assert e.value.message == 'Secret "cert" is invalid: data[tls.key]: Required value'
    # ...which c.apply finds before sending anything
    with pytest.raises(errors.ManifestError, match=r"data\[tls\.key\]: Required value"):
        c.apply(cert)
    c.apply("""\
apiVersion: v1
kind: Secret
metadata:
  name: cert
type: kubernetes.io/tls
stringData:
  tls.crt: CERT
  tls.key: KEY
""")
    assert sorted(c.get("secret", "cert")["data"]) == ["tls.crt", "tls.key"]


def test_immutable_configmaps_and_secrets_refuse_changes(c):
    c.apply(APP_CONFIG + "immutable: true\n")
    with pytest.raises(errors.Invalid) as e:
        c.apply(APP_CONFIG.replace("color: blue", "color: green") + "immutable: true\n")
    assert e.value.message == (
        'ConfigMap "app-config" is invalid: data: Forbidden: field is immutable when `immutable` is set')
    with pytest.raises(errors.Invalid) as e:
        c.apply(APP_CONFIG + "immutable: false\n")
    assert e.value.message == (
        'ConfigMap "app-config" is invalid: immutable: Forbidden: field is immutable when `immutable` is set')
    assert c.get("configmap", "app-config")["data"]["color"] == "blue"
    # labels may still change, and the object may be deleted (and made again)
    c.apply(APP_CONFIG.replace("  name: app-config\n", "  name: app-config\n  labels: {tier: web}\n")
            + "immutable: true\n")
    assert c.get("configmap", "app-config")["metadata"]["labels"] == {"tier": "web"}

    c.apply("apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nimmutable: true\nstringData: {password: one}\n")
    with pytest.raises(errors.Invalid) as e:
        c.apply("apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nimmutable: true\nstringData: {password: two}\n")
    assert e.value.message == 'Secret "db" is invalid: data: Forbidden: field is immutable when `immutable` is set'
    assert c.get("secret", "db")["data"] == {"password": "b25l"}


# -- emptyDir -----------------------------------------------------------------------------------------------

SHARED = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: writer
    image: busybox:1.36
    command: ["sh", "-c", "{script}"]
    volumeMounts:
    - {{name: html, mountPath: /data}}
  - name: nginx
    image: nginx:1.27
    volumeMounts:
    - {{name: html, mountPath: /usr/share/nginx/html}}
  volumes:
  - name: html
    emptyDir: {{}}
"""


def test_an_emptydir_is_shared_by_the_containers_of_a_pod_and_goes_with_it(c):
    c.apply(SHARED.format(script="echo hello from the writer > /data/index.html; sleep 3600"))
    c.run()
    assert _out(c.kubectl("get pod web")).splitlines()[1].split()[1:3] == ["2/2", "Running"]
    # the pod's own volume, then the API access volume the ServiceAccount admission plugin adds
    html, api_access = c.get("pod", "web")["spec"]["volumes"]
    assert html == {"name": "html", "emptyDir": {}}
    assert api_access["name"].startswith("kube-api-access-") and "projected" in api_access
    # one container wrote it, the other serves it
    assert _out(c.kubectl("exec web -c nginx -- cat /usr/share/nginx/html/index.html")) == "hello from the writer\n"
    assert _out(c.kubectl("exec web -c writer -- wget -qO- http://localhost")) == "hello from the writer\n"

    c.kubectl("delete pod web")
    c.run()
    c.apply(SHARED.format(script="sleep 3600"))
    c.run()
    # a new pod, a new (empty) directory: nginx has nothing to serve
    gone = c.kubectl("exec web -c nginx -- cat /usr/share/nginx/html/index.html")
    assert (_out(gone), gone.returncode) == (
        "cat: can't open '/usr/share/nginx/html/index.html': No such file or directory\n"
        "command terminated with exit code 1\n", 1)
    assert _out(c.kubectl("exec web -c writer -- wget -qO- http://localhost")) == (
        "wget: server returned error: HTTP/1.1 403 Forbidden\ncommand terminated with exit code 1\n")
