# Starts moto_server with two speed-only patches to moto's SQS backend.
# moto 5.2.1 computes every queue attribute (each an O(queue depth) pass that
# reads a datetime-based clock per message) for every message it receives,
# to check the retention period; a receive of 10 messages from a 2,000-deep
# queue took about 1.5 s. The patches compute the same retention check from
# the queue's own setting, and read the clock with time.time() (what
# moto.core.utils.unix_time computes when given no datetime). Neither
# changes what moto answers. If moto's internals differ from what the
# patches expect, moto runs unpatched, only slower.
import sys
import time

try:
    import moto.sqs.models as _m

    _unix_time, _unix_time_millis = _m.unix_time, _m.unix_time_millis

    def _fast_unix_time(dt=None):
        return time.time() if dt is None else _unix_time(dt)

    def _fast_unix_time_millis(dt=None):
        return time.time() * 1000.0 if dt is None else _unix_time_millis(dt)

    def _valid(self, queue_name, message):
        queue = self.get_queue(queue_name)
        return int(queue.message_retention_period) + message.sent_timestamp / 1000 > time.time()

    if not hasattr(_m.SQSBackend, "is_message_valid_based_on_retention_period"):
        raise AttributeError("SQSBackend.is_message_valid_based_on_retention_period")
    _m.unix_time, _m.unix_time_millis = _fast_unix_time, _fast_unix_time_millis
    _m.SQSBackend.is_message_valid_based_on_retention_period = _valid
except Exception as e:  # any other moto: run it as it is
    print("memo twin: moto speed patch not applied: %r" % (e,), file=sys.stderr)

from moto.server import main

sys.argv[0] = "moto_server"
sys.exit(main())
