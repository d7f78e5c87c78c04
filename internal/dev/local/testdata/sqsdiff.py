# Drives moto's SQS backend with a seeded random sequence of calls under a
# frozen clock and prints every answer, one JSON line per call, with the
# random parts (message ids, receipt handles) replaced by the order in which
# they first appeared. Run once with moto as installed and once with
# --patch motopatch.py: the two transcripts must be equal (sqsdiff_test.go).
#
#   python3 sqsdiff.py [--patch PATH] [--seed N] [--calls N]
#
# It calls moto.sqs.models.SQSBackend directly (what moto's HTTP layer calls;
# the patch changes nothing above it), with WaitTimeSeconds 0: a long poll
# waits on a real clock.
import json
import random
import sys

from diffharness import parse_and_patch

args = parse_and_patch(1000, ["clock", "store"])

import moto.sqs.models as m  # noqa: E402

# One frozen clock (ms) for both runs; the calls move it.
clock = [1_700_000_000_000.0]
_unix_time, _unix_time_millis = m.unix_time, m.unix_time_millis
m.unix_time = lambda dt=None: clock[0] / 1000.0 if dt is None else _unix_time(dt)
m.unix_time_millis = lambda dt=None: clock[0] if dt is None else _unix_time_millis(dt)

backend = m.sqs_backends["123456789012"]["us-east-1"]
rnd = random.Random(args.seed)

labels, counts = {}, {}


def label(kind, value):
    if value is None:
        return None
    key = (kind, value)
    if key not in labels:
        counts[kind] = counts.get(kind, 0) + 1
        labels[key] = "%s%d" % (kind, counts[kind])
    return labels[key]


backend.create_queue("dlq")
dlq_arn = backend.get_queue("dlq").queue_arn
backend.create_queue(
    "main",
    VisibilityTimeout="2",
    RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}),
)
backend.create_queue("plain", VisibilityTimeout="1")
backend.create_queue("f.fifo", FifoQueue="true", ContentBasedDeduplication="true", VisibilityTimeout="2")
QUEUES = ["main"] * 12 + ["plain"] * 3 + ["dlq"] * 3 + ["f.fifo"] * 2
BODIES = ["b%d" % i for i in range(12)]

handles = {q: [] for q in sorted(set(QUEUES))}  # every handle received, oldest first
deleted = {q: [] for q in sorted(set(QUEUES))}


def pick_handle(q):
    r = rnd.random()
    pool = handles[q]
    if r < 0.05:
        return "not-a-handle"
    if r < 0.10:
        other = handles[rnd.choice(list(handles))]
        return rnd.choice(other) if other else "none-yet"
    if r < 0.20 and deleted[q]:
        return rnd.choice(deleted[q])
    if not pool:
        return "none-yet"
    if r < 0.35:
        return rnd.choice(pool)  # often stale
    return pool[-1 - min(len(pool) - 1, int(rnd.expovariate(0.3)))]


def entry(i, q):
    e = {
        "Id": "e%d" % i,
        "MessageBody": rnd.choice(BODIES),
        "MessageAttributes": {},
        "DelaySeconds": None,
    }
    if q.endswith(".fifo"):
        e["MessageGroupId"] = rnd.choice("abc")
    elif rnd.random() < 0.2:
        e["DelaySeconds"] = rnd.choice([0, 1, 2])
    if rnd.random() < 0.2:
        e["MessageAttributes"] = {"k": {"DataType": "String", "StringValue": rnd.choice("xy")}}
    return e


def render(msg):
    return {
        "id": label("m", msg.id),
        "handle": label("h", msg.receipt_handle),
        "body": msg.body,
        "md5": msg.body_md5,
        "attr_md5": msg.attribute_md5,
        "attributes": msg.message_attributes,
        "sent": msg.sent_timestamp,
        "receives": msg.approximate_receive_count,
        "first_receive": msg.approximate_first_receive_timestamp,
        "group": msg.group_id,
        "dedup": msg.deduplication_id,
        "seq": msg.sequence_number,
    }


def receive(q, count, vt):
    queue = backend.get_queue(q)
    if vt is None:  # what moto's HTTP layer passes without VisibilityTimeout
        vt = queue.visibility_timeout
    names = rnd.choice([[], ["All"], ["k"]])
    got = backend.receive_message(q, count, 0, vt, names)
    for msg in got:
        handles[q].append(msg.receipt_handle)
    return [render(msg) for msg in got]


def call(op, q):
    if op == "send":
        e = entry(0, q)
        msg = backend.send_message(
            q,
            e["MessageBody"],
            message_attributes=e["MessageAttributes"],
            delay_seconds=e["DelaySeconds"],
            group_id=e.get("MessageGroupId"),
        )
        return {"id": label("m", msg.id), "md5": msg.body_md5, "seq": msg.sequence_number}
    if op == "send_batch":
        entries = {str(i): entry(i, q) for i in range(rnd.randint(1, 10))}
        msgs, failed = backend.send_message_batch(q, entries)
        return {"ok": [[msg.user_id, label("m", msg.id)] for msg in msgs], "failed": [e["Id"] for e in failed]}
    if op == "receive":
        return receive(q, rnd.randint(1, 10), rnd.choice([None, None, 0, 1, 2, 3]))
    if op == "delete":
        h = pick_handle(q)
        backend.delete_message(q, h)
        deleted[q].append(h)
        return {"deleted": label("h", h)}
    if op == "delete_batch":
        hs = [pick_handle(q) for _ in range(rnd.randint(1, 10))]
        if len(hs) > 1 and rnd.random() < 0.5:
            hs[-1] = hs[0]  # the same handle twice in one batch
        ok, failed = backend.delete_message_batch(
            q, [{"Id": "d%d" % i, "ReceiptHandle": h} for i, h in enumerate(hs)]
        )
        deleted[q].extend(hs)
        return {"ok": ok, "failed": [[f["Id"], f["Code"]] for f in failed]}
    if op == "visibility":
        h = pick_handle(q)
        vt = rnd.choice([0, 0, 1, 2, 3, 43199])
        backend.change_message_visibility(q, h, vt)
        return {"changed": label("h", h), "to": vt}
    if op == "visibility_batch":
        es = [
            {"Id": "v%d" % i, "ReceiptHandle": pick_handle(q), "VisibilityTimeout": rnd.choice([0, 1, 3])}
            for i in range(rnd.randint(1, 5))
        ]
        ok, failed = backend.change_message_visibility_batch(q, es)
        return {"ok": ok, "failed": [[f["Id"], f["Code"]] for f in failed]}
    if op == "tick":
        clock[0] += rnd.choice([1, 250, 500, 999, 1000, 1000, 1001, 2000, 3000])
        return {"now": clock[0]}
    if op == "attributes":
        return backend.get_queue_attributes(q, ["All"])
    if op == "purge":
        backend.purge_queue(q)
        return {}
    raise ValueError(op)


OPS = (
    ["send"] * 14
    + ["send_batch"] * 6
    + ["receive"] * 22
    + ["delete"] * 10
    + ["delete_batch"] * 6
    + ["visibility"] * 7
    + ["visibility_batch"] * 3
    + ["tick"] * 14
    + ["attributes"] * 5
)

out = sys.stdout
for i in range(args.calls):
    op = "purge" if rnd.random() < 0.003 else rnd.choice(OPS)
    q = rnd.choice(QUEUES)
    try:
        answer = call(op, q)
    except Exception as e:  # an error is an answer too
        answer = {"error": type(e).__name__, "code": getattr(e, "code", None), "message": getattr(e, "message", str(e))}
    out.write(json.dumps({"i": i, "op": op, "queue": q, "answer": answer}, sort_keys=True, default=str) + "\n")

# The end state: every message left, in the order moto hands them out.
clock[0] += 3_600_000
for q in sorted(set(QUEUES)):
    left = []
    while True:
        got = receive(q, 10, 600)
        if not got:
            break
        left.extend(got)
    out.write(json.dumps({"end": q, "left": left, "attributes": backend.get_queue_attributes(q, ["All"])}, sort_keys=True, default=str) + "\n")
