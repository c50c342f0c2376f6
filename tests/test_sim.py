from k8slab.sim import EventLoop, Randomness, Trace, parse_timestamp, timestamp


def test_simultaneous_events_run_in_the_order_they_were_scheduled():
    loop = EventLoop()
    seen = []
    for name in "abcde":
        loop.call_at(5.0, seen.append, name, who="t", what=name)
    loop.call_at(1.0, seen.append, "first", who="t", what="first")
    loop.run_until_settled()
    assert seen == ["first", "a", "b", "c", "d", "e"]
    assert loop.now == 5.0


def test_run_until_settled_ignores_background_heartbeats():
    loop = EventLoop()
    beats = []

    def heartbeat():
        beats.append(loop.now)
        loop.call_later(10, heartbeat, who="kubelet", what="renew", background=True)

    loop.call_later(10, heartbeat, who="kubelet", what="renew", background=True)
    loop.call_later(25, lambda: None, who="work", what="job")
    loop.run_until_settled()
    assert loop.now == 25
    assert beats == [10, 20]


def test_horizon_keeps_run_going_until_a_due_reaction():
    loop = EventLoop()
    loop.extend_horizon(45)
    loop.run_until_settled()
    assert loop.now == 45


def test_cancelled_event_does_not_run_or_keep_the_loop_busy():
    loop = EventLoop()
    seen = []
    ev = loop.call_later(3, seen.append, 1, who="x", what="y")
    loop.cancel(ev)
    assert loop.settled()
    loop.run_until_settled()
    assert seen == []


def test_step_returns_the_event_with_a_readable_repr():
    loop = EventLoop()
    loop.call_later(1.5, lambda: None, who="kube-scheduler", what="schedule default/web")
    ev = loop.step()
    assert repr(ev) == "Event(t=1.500s kube-scheduler: schedule default/web)"


def test_component_errors_go_to_the_handler_and_the_loop_continues():
    loop = EventLoop()
    errors = []
    loop.on_error = lambda ev, exc: errors.append((ev.who, str(exc)))
    loop.call_later(1, lambda: 1 / 0, who="my-operator", what="reconcile")
    loop.call_later(2, lambda: None, who="other", what="ok")
    loop.run_until_settled()
    assert errors == [("my-operator", "division by zero")]
    assert loop.now == 2


def test_randomness_streams_are_independent_and_seeded():
    a = Randomness(1)
    b = Randomness(1)
    a.stream("other").random()  # using another stream does not shift this one
    assert a.stream("names").random() == b.stream("names").random()
    assert Randomness(2).stream("names").random() != Randomness(1).stream("names").random()


def test_timestamps_round_trip():
    assert timestamp(0) == "2025-01-01T00:00:00Z"
    assert timestamp(3725.9) == "2025-01-01T01:02:05Z"
    assert parse_timestamp("2025-01-01T01:02:05Z") == 3725


def test_bounded_trace_keeps_the_latest_entries():
    t = Trace(limit=3)
    for i in range(5):
        t.record_request(float(i), "kubectl", "get", "pods", "default", f"p{i}", 200)
    assert [e.name for e in t] == ["p2", "p3", "p4"]
    assert t.total == 5
    off = Trace(enabled=False)
    off.record_request(0.0, "kubectl", "get", "pods", "default", "p", 200)
    assert len(off) == 0
