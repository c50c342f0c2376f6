"""CustomResourceDefinitions: the docs' CronTab example end to end, and what the API server does with a CRD.

Follows "Extend the Kubernetes API with CustomResourceDefinitions" (kubernetes.io):
register a CRD, wait for it to be Established, create, read, validate, prune,
default and delete objects of the new kind.
"""

import pytest

import k8slab
from k8slab.api import errors
from k8slab.api.manifest import load_manifests
from k8slab.apiserver import crd as crd_mod
from k8slab.controlplane.apiextensions import APIExtensionsServer

CRONTAB_PATTERN = r"^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$"

CRONTAB_CRD = r"""
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                cronSpec:
                  type: string
                  pattern: '^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$'
                  default: "5 0 * * *"
                image:
                  type: string
                replicas:
                  type: integer
                  minimum: 1
                  maximum: 10
                  default: 1
                mode:
                  type: string
                  enum: [Allow, Forbid]
                extra:
                  type: object
                  x-kubernetes-preserve-unknown-fields: true
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames:
    - ct
"""

CRONTAB = """\
apiVersion: "stable.example.com/v1"
kind: CronTab
metadata:
  name: my-new-cron-object
spec:
  cronSpec: "* * * * */5"
  image: my-awesome-cron-image
"""


def with_apiextensions(c):
    """The cluster's apiextensions controllers (started here until the Cluster starts them itself)."""
    ext = getattr(c, "apiextensions", None)
    if ext is None:
        ext = APIExtensionsServer(c.api, c.loop, c.rng)
        ext.start()
    return ext


@pytest.fixture
def c():
    cluster = k8slab.Cluster(workers=1, seed=0)
    with_apiextensions(cluster)
    return cluster


@pytest.fixture
def crontabs(c):
    c.apply(CRONTAB_CRD)
    c.run()
    return c


def crontab(name="x", **spec):
    return {"apiVersion": "stable.example.com/v1", "kind": "CronTab", "metadata": {"name": name}, "spec": spec}


def conditions(crd):
    return [(x["type"], x["status"], x["reason"], x["message"]) for x in crd["status"]["conditions"]]


# -- registering the kind ---------------------------------------------------------------------------


def test_crontab_kind_is_served_only_once_the_crd_is_established(c):
    assert c.apply(CRONTAB_CRD) == ["customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com created"]
    with pytest.raises(errors.ApiError) as e:
        c.admin.create(crontab("early"), "default", resource="crontabs.stable.example.com")
    assert (e.value.code, e.value.message) == (404, "the server could not find the requested resource")
    start = c.now
    c.run()
    crd = c.get("crd", "crontabs.stable.example.com", namespace=None)
    assert conditions(crd) == [
        ("NamesAccepted", "True", "NoConflicts", "no conflicts found"),
        ("Established", "True", "InitialNamesAccepted", "the initial names have been accepted"),
    ]
    assert crd["status"]["acceptedNames"] == {"plural": "crontabs", "singular": "crontab", "shortNames": ["ct"],
                                              "kind": "CronTab", "listKind": "CronTabList"}
    assert crd["spec"]["conversion"] == {"strategy": "None"}
    # two status updates, each a watch delivery away: a few milliseconds of virtual time
    established = [e for e in c.trace.filter(resource="customresourcedefinitions/status") if e.type == "request"]
    assert [(e.actor, e.verb, e.code) for e in established] == [
        ("NamingConditionController", "update", 200), ("EstablishingController", "update", 200)]
    assert established[-1].time - start < 0.01


def test_crontab_end_to_end_with_kubectl(crontabs):
    c = crontabs
    assert c.apply(CRONTAB) == ["crontab.stable.example.com/my-new-cron-object created"]
    obj = c.get("crontab", "my-new-cron-object")
    assert obj["spec"] == {"cronSpec": "* * * * */5", "image": "my-awesome-cron-image", "replicas": 1}
    assert obj["metadata"]["generation"] == 1
    assert c.get("ct", "my-new-cron-object")["metadata"]["uid"] == obj["metadata"]["uid"]
    assert c.kubectl("get ct").splitlines() == ["NAME                 AGE", "my-new-cron-object   0s"]
    assert c.kubectl("get crontabs.stable.example.com my-new-cron-object -o name") == (
        "crontab.stable.example.com/my-new-cron-object\n")
    rows = c.kubectl("api-resources --api-group=stable.example.com").splitlines()
    assert rows[1].split() == ["crontabs", "ct", "stable.example.com/v1", "true", "CronTab"]
    assert c.apply(CRONTAB) == ["crontab.stable.example.com/my-new-cron-object unchanged"]


def test_wrong_type_is_a_422_with_the_real_message(crontabs):
    with pytest.raises(errors.Invalid) as e:
        crontabs.admin.create(crontab("x", replicas="string"))
    assert e.value.code == 422
    assert e.value.message == ('CronTab.stable.example.com "x" is invalid: spec.replicas: Invalid value: "string": '
                               'spec.replicas in body must be of type integer: "string"')
    assert e.value.causes[0]["reason"] == "FieldValueTypeInvalid"
    assert crontabs.get("crontabs") == []


def test_schema_rules_report_every_field_like_the_docs_example(crontabs):
    with pytest.raises(errors.Invalid) as e:
        crontabs.admin.create(crontab("my-new-cron-object", cronSpec="* * * *", image="img", replicas=15))
    assert e.value.message == (
        'CronTab.stable.example.com "my-new-cron-object" is invalid: ['
        f"spec.cronSpec: Invalid value: \"* * * *\": spec.cronSpec in body should match '{CRONTAB_PATTERN}', "
        "spec.replicas: Invalid value: 15: spec.replicas in body should be less than or equal to 10]")
    with pytest.raises(errors.Invalid) as e:
        crontabs.admin.create(crontab("y", replicas=0, mode="Sometimes"))
    assert [(x["field"], x["message"]) for x in e.value.causes] == [
        ("spec.mode", 'Unsupported value: "Sometimes": supported values: "Allow", "Forbid"'),
        ("spec.replicas", "Invalid value: 0: spec.replicas in body should be greater than or equal to 1"),
    ]


def test_unknown_fields_are_pruned_silently_but_preserved_where_the_schema_says(crontabs):
    stored = crontabs.admin.create(crontab("x", image="a", someRandomField=42, extra={"anything": [1, 2]}))
    assert stored["spec"] == {"image": "a", "extra": {"anything": [1, 2]}, "cronSpec": "5 0 * * *", "replicas": 1}
    assert "someRandomField" not in crontabs.get("ct", "x")["spec"]
    top = crontabs.admin.create(dict(crontab("y"), status={"phase": "x"}))
    assert "status" not in top  # the schema specifies no status: pruned too


def test_defaults_fill_missing_fields_on_create_and_update(crontabs):
    stored = crontabs.admin.create(crontab("x", image="a"))
    assert stored["spec"] == {"image": "a", "cronSpec": "5 0 * * *", "replicas": 1}
    assert crontabs.admin.create(crontab("y"))["spec"] == {"cronSpec": "5 0 * * *", "replicas": 1}
    bare = {"apiVersion": "stable.example.com/v1", "kind": "CronTab", "metadata": {"name": "z"}}
    assert "spec" not in crontabs.admin.create(bare)  # defaults apply inside an existing spec only
    stored["spec"] = {"image": "b", "replicas": None}  # null counts as unset where null is not allowed
    updated = crontabs.admin.update(stored)
    assert updated["spec"] == {"image": "b", "replicas": 1, "cronSpec": "5 0 * * *"}
    assert updated["metadata"]["generation"] == 2


def test_kubectl_apply_checks_custom_objects_with_file_line_and_field(crontabs):
    [m] = load_manifests(CRONTAB.replace("image: my", "replcas: 3\n  image: my"), filename="crontab.yaml")
    problem = crd_mod.custom_resource_problem(crontabs.api, m)
    assert str(problem) == 'error: crontab.yaml, line 7: unknown field "spec.replcas" — did you mean "replicas"?'
    [m] = load_manifests(CRONTAB + "  replicas: many\n", filename="crontab.yaml")
    assert str(crd_mod.custom_resource_problem(crontabs.api, m)) == (
        'error: crontab.yaml, line 8: spec.replicas: Invalid value: "string": '
        'spec.replicas in body must be of type integer: "string"')
    [m] = load_manifests(CRONTAB, filename="crontab.yaml")
    assert crd_mod.custom_resource_problem(crontabs.api, m) is None
    [m] = load_manifests({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
    assert crd_mod.custom_resource_problem(crontabs.api, m) is None  # built-in kinds: the bundled schema


def test_deleting_the_crd_deletes_its_objects_and_the_kind(crontabs):
    c = crontabs
    c.apply(CRONTAB)
    c.admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    c.admin.create(crontab("other", image="b"), "team")
    assert len(c.get("ct", namespace=None)) == 2
    assert c.kubectl("delete crd crontabs.stable.example.com") == (
        'customresourcedefinition.apiextensions.k8s.io "crontabs.stable.example.com" deleted\n')
    c.run()
    assert c.etcd.keys("/registry/stable.example.com/") == []
    assert c.etcd.keys("/registry/apiextensions.k8s.io/") == []
    assert c.kinds.resolve("ct") is None
    out = c.kubectl("get ct")
    assert (out.returncode, str(out)) == (1, 'error: the server doesn\'t have a resource type "ct"\n')


def test_no_new_objects_while_the_crd_is_terminating(crontabs):
    crd = crontabs.get("crd", "crontabs.stable.example.com", namespace=None)
    crd_mod.set_condition(crd, "Terminating", "True", "InstanceDeletionInProgress",
                          "CustomResource deletion is in progress", "2025-01-01T00:00:11Z")
    crontabs.admin.update_status(crd)
    with pytest.raises(errors.ApiError) as e:
        crontabs.admin.create(crontab("late", image="a"))
    assert (e.value.code, e.value.reason, e.value.message) == (
        405, "MethodNotAllowed", "create not allowed while custom resource definition is terminating")


# -- the CRD's own rules --------------------------------------------------------------------------------


def test_crd_name_must_be_plural_dot_group(c):
    with pytest.raises(errors.Invalid) as e:
        c.apply(CRONTAB_CRD.replace("name: crontabs.stable", "name: crontab.stable"))
    assert e.value.message == (
        'CustomResourceDefinition.apiextensions.k8s.io "crontab.stable.example.com" is invalid: metadata.name: '
        'Invalid value: "crontab.stable.example.com": must be spec.names.plural+"."+spec.group')
    assert c.get("crds", namespace=None) == []


def test_crd_validation_messages():
    crd = crd_mod.default_crd({
        "metadata": {"name": "things.example"},
        "spec": {"group": "example", "scope": "Global", "names": {"plural": "things", "kind": "Thing"},
                 "versions": [
                     {"name": "v1", "served": True, "storage": True,
                      "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                          "spec": {"properties": {"size": {"type": "array"}}}}}}},
                     {"name": "V2", "served": True, "storage": True}]}})
    assert [(x["field"], x["message"]) for x in crd_mod.crd_causes(crd)] == [
        ("spec.group", 'Invalid value: "example": should be a domain with at least one dot'),
        ("spec.scope", 'Unsupported value: "Global": supported values: "Cluster", "Namespaced"'),
        ("spec.versions[1].name", 'Invalid value: "V2": a DNS-1035 label must consist of lower case alphanumeric '
         "characters or '-', start with an alphabetic character, and end with an alphanumeric character "
         "(e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"),
        ("spec.versions[1].schema.openAPIV3Schema", "Required value: schemas are required"),
        ("spec.versions", 'Invalid value: []apiextensions.CustomResourceDefinitionVersion{'
         'apiextensions.CustomResourceDefinitionVersion{Name:"v1", Served:true, Storage:true, ...}, '
         'apiextensions.CustomResourceDefinitionVersion{Name:"V2", Served:true, Storage:true, ...}}: '
         "must have exactly one version marked as storage version"),
        ("spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[size].items",
         "Required value: must be specified"),
        ("spec.versions[0].schema.openAPIV3Schema.properties[spec].type",
         "Required value: must not be empty for specified object fields"),
    ]


def test_conflicting_names_are_not_accepted(crontabs):
    c = crontabs
    c.apply(CRONTAB_CRD.replace("crontabs.stable", "cronjobs.stable").replace("plural: crontabs", "plural: cronjobs"))
    c.run()
    crd = c.get("crd", "cronjobs.stable.example.com", namespace=None)
    # every name but the plural is taken; the condition tells the last conflict found
    assert conditions(crd) == [
        ("NamesAccepted", "False", "ListKindConflict", '"CronTabList" is already in use'),
        ("Established", "False", "NotAccepted", "not all names are accepted"),
    ]
    assert crd["status"]["acceptedNames"] == {"plural": "cronjobs", "kind": ""}
    assert c.kinds.resolve("cronjobs.stable.example.com") is None


def test_status_subresource_generation_and_printer_columns(c):
    crd_text = CRONTAB_CRD.replace("      storage: true\n", """      storage: true
      subresources:
        status: {}
      additionalPrinterColumns:
      - {name: Spec, type: string, jsonPath: .spec.cronSpec}
      - {name: Replicas, type: integer, jsonPath: .spec.replicas}
      - {name: Phase, type: string, jsonPath: .status.phase, priority: 1}
""").replace("            spec:\n", "            status:\n              type: object\n"
             "              properties:\n                phase: {type: string}\n            spec:\n", 1)
    c.apply(crd_text)
    c.run()
    crd = c.get("crd", "crontabs.stable.example.com", namespace=None)
    assert [(col["name"], col["priority"]) for col in crd_mod.printer_columns(crd)] == [
        ("Spec", 0), ("Replicas", 0), ("Phase", 1)]
    assert c.kinds.resolve("ct").subresources == ("status",)
    obj = c.admin.create(dict(crontab("x", image="a"), status={"phase": "Done"}))
    assert not obj.get("status")  # create cannot set the status
    obj["spec"]["replicas"] = 2
    obj["status"] = {"phase": "Ignored"}
    obj = c.admin.update(obj)
    assert (obj["metadata"]["generation"], obj.get("status") or {}) == (2, {})
    obj["status"] = {"phase": "Running"}
    obj = c.admin.update_status(obj)
    assert (obj["metadata"]["generation"], obj["status"]) == (2, {"phase": "Running"})
    assert c.kubectl("get ct -o wide").splitlines() == [
        "NAME   SPEC        REPLICAS   PHASE",
        "x      5 0 * * *   2          Running",
    ]


def test_printer_columns_default_to_age():
    assert crd_mod.printer_columns({"spec": {"versions": [{"name": "v1", "served": True}]}}) == [
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp", "priority": 0,
         "description": ""}]


def test_cluster_scoped_crd(c):
    c.apply(CRONTAB_CRD.replace("scope: Namespaced", "scope: Cluster"))
    c.run()
    stored = c.admin.create(crontab("global", image="a"))
    assert "namespace" not in stored["metadata"]
    assert c.etcd.keys("/registry/stable.example.com/") == ["/registry/stable.example.com/crontabs/global"]


def test_same_seed_same_story():
    def story():
        cluster = k8slab.Cluster(workers=1, seed=3)
        with_apiextensions(cluster)
        cluster.apply(CRONTAB_CRD)
        cluster.run()
        cluster.apply(CRONTAB)
        cluster.run()
        return [str(e) for e in cluster.trace], cluster.get("ct", "my-new-cron-object")["metadata"]["uid"]

    assert story() == story()
