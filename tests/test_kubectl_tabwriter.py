"""Column alignment: Go's text/tabwriter with kubectl's settings."""

from k8slab.kubectl.tabwriter import table, tabwrite


def test_table_columns_are_widest_cell_plus_three_spaces_and_last_column_unpadded():
    text = table([["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
                  ["web-7d8b9c6f5-x2x4q", "1/1", "Running", "0", "35s"],
                  ["db-0", "0/1", "ContainerCreating", "0", "5s"]])
    assert text == (
        "NAME                  READY   STATUS              RESTARTS   AGE\n"
        "web-7d8b9c6f5-x2x4q   1/1     Running             0          35s\n"
        "db-0                  0/1     ContainerCreating   0          5s\n"
    )


def test_table_minimum_column_width_is_six():
    # "IP" is 2 wide: plus padding that is 5, below the minimum width of 6.
    assert table([["IP", "X"], ["a", "b"]]) == "IP    X\na     b\n"


def test_describe_alignment_restarts_after_a_line_without_tabs():
    text = "Name:\tweb\nNamespace:\tdefault\nIPs:\n  IP:\t10.0.0.1\nControlled By:\tReplicaSet/web\n"
    assert tabwrite(text, minwidth=0, padding=2) == (
        "Name:       web\n"
        "Namespace:  default\n"
        "IPs:\n"
        "  IP:           10.0.0.1\n"
        "Controlled By:  ReplicaSet/web\n"
    )


def test_empty_cells_are_padded_and_trailing_text_is_not():
    assert tabwrite("a\t\tb\nccc\t\td\n", minwidth=0, padding=2) == "a      b\nccc    d\n"
    assert tabwrite("Container ID:\t\nImage:\tnginx\n", 0, 2) == "Container ID:  \nImage:         nginx\n"


def test_multiline_cells_are_cut_like_kubectl_does():
    assert table([["NAME", "MESSAGE"], ["x", "line one\nline two"]]) == "NAME   MESSAGE\nx      line one...\n"
