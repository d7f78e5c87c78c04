# Starts moto_server with speed-only patches to moto 5.2.1's SQS and
# DynamoDB backends.
#
# The rule: nothing moto answers changes. Each patch replaces a part of
# moto whose cost grows with the depth of the queue by one that gives the
# same answers at a cost that does not:
#
# 1. clock and retention: moto computes every queue attribute (each a pass
#    over all messages, reading a datetime-based clock per message) for
#    every message it receives, to check the retention period; a receive of
#    10 messages from a 2,000-deep queue took about 1.5 s. The patch
#    computes the same check from the queue's own setting and reads the
#    clock with time.time() (what moto.core.utils.unix_time computes when
#    given no datetime).
# 2. the message store: moto keeps a queue's messages in a list, so that
#    DeleteMessage scans it for the receipt handle and rebuilds it,
#    ChangeMessageVisibility scans it, ReceiveMessage builds the list of all
#    visible messages before taking up to 10, and every SendMessage counts
#    the visible, in-flight and delayed messages (queue.attributes). The
#    patch keeps them in a _Store: the same order (a dict), an index by
#    receipt handle (current and past ones, as had_receipt_handle checks),
#    and the in-flight and delayed messages in heaps by the time they
#    return, so that a receive visits only the messages it returns or
#    skips, in moto's order.
# 3. DynamoDB index queries: moto answers a Query on a secondary index by
#    sorting every item of the table (Table.all_items) and testing each
#    against the key condition, for every page; memo reads a batch through
#    32 shard keys of its index (record.IndexShards), so a count of a
#    20,000-result batch took about 12 s. The patch hands Table.query, in
#    place of all the items, those whose first hash key attribute equals
#    the condition's value, in all_items' order (moto's own loop then
#    applies the whole condition to them as before), from a grouping of the
#    table's items by that attribute that is rebuilt after any DynamoDB
#    call that may write (every DynamoDBBackend method but the get_,
#    describe_, list_ ones, query, scan, batch_get_item and
#    transact_get_items; and Table.put_item, delete_item and delete).
#
# 4. DynamoDB condition expressions: moto parses a PutItem's
#    ConditionExpression twice per call (once to validate the names it
#    uses, once to evaluate it), lexing it character by character; the
#    twin's compute sends the same expression with the same names and
#    values for every result of a batch, and the parse was about a third of
#    moto's time per PutItem. The patch remembers, for an exact repeat of
#    the expression, its names and its values (compared as their JSON
#    text), the tree the parser returned and the names and values it found;
#    a parse that fails is not remembered (it fails again, the same way).
#    The tree's nodes are not changed after the parse (their expr methods
#    only read), so one tree serves every repeat.
# 5. dispatch: for every request moto_server lists the folders of moto's
#    package (backends.list_of_moto_modules, a directory listing and a
#    stat per folder) to find the request's backend, and lists the methods
#    of the response class (utils.method_names_from_class, with
#    inspect.getmembers) to find the action's. Neither changes while moto
#    runs (moto's files, and its classes once this file has patched them);
#    the patch computes each once (the methods once per class).
# 6. keep-alive: moto_server serves with werkzeug's development server,
#    which ends every answer with "Connection: close" and then waits (up to
#    10 ms a read) for the client to close, discarding what it sends:
#    werkzeug says why (serving.py, run_wsgi): Python's http.server cannot
#    find the next request line after a body the application did not read
#    whole. So every request the twin made opened a TCP connection and a
#    thread in moto. The patch reads a request's body (its Content-Length
#    bytes) before moto sees it, hands moto the bytes, and keeps the
#    connection open: the next request line is then where http.server reads
#    it. A request without a length (chunked), or that asks to close, is
#    served as before. The answers' bytes are moto's; only the
#    "Connection: close" header goes. A reply's headers and body go out in
#    one write, without Nagle's delay: in two writes (http.server's way),
#    the Go SDK failed about one read of a body in a thousand here with "use
#    of closed network connection" (cause not found; none in 10,000 since).
#
# The proof is a differential test (sqsdiff_test.go, sqsdiff.py; and
# ddbdiff_test.go, ddbdiff.py for 3., 4. and 5.; keepalive_test.go for 6.,
# through moto_server itself): the same random sequence of calls
# through moto as installed and through the patched moto (for SQS under one
# frozen clock) must give the same answers.
#
# Each patch checks the source of every moto function it replaces or relies
# on against the version it was written for; on any other moto it is not
# applied (and says so on stderr), and moto runs as installed, only slower.
import hashlib
import heapq
import inspect
import functools
import itertools
import sys
import threading
import time
from copy import deepcopy

NO_MOTO = 97  # the exit status when this python3 has no moto (moto.go)
_m = None  # moto.sqs.models, once apply has imported it
_tick = itertools.count()  # tie-breaker of heap entries

# sha256 of inspect.getsource of the moto 5.2.1 code each patch replaces or
# relies on (print them with: python3 motopatch.py --sources).
_CLOCK_SOURCES = {
    "SQSBackend.is_message_valid_based_on_retention_period": "cca23b94a5f3af9d9c5af1c09ee5e615017bdf6bd032301cb321c06c7e595d4b",
    "unix_time": "f0576ec9e5f586e54a3646c4bee8f05589aed07b2aecf0e1943ffcd2585c3960",
    "unix_time_millis": "7a37e1337d02962edf1a7396cbc8f3872997b0d7cbb22d50e53876019c11dbad",
}
_STORE_SOURCES = {
    "Queue.__init__": "fda0dfa01cc33d7f376125f001ae63da4303651144451d6d88e0cedef5001249",
    "Queue.messages": "03a531dbcbcf9aee2e61c7254c08946a499f5c57f2447a8f2e534aa85b067dea",
    "Queue.add_message": "f27c9231c1f2043382bc1435c4dfbab7b645389df642f050d9dda477f6535c35",
    "Queue.delete_message": "fa6fd5b9bd2cafb4aaacd79da7fc656e513e1513197c2939ff002f9ebfd4be46",
    "Queue.wait_for_messages": "58432562ccf2e13ed8841c825dd2614b6e57b71733d1ce9ba6926d38530ba1f1",
    "Queue.approximate_number_of_messages": "d357a9506a56d2f8f9f364aa1e0a4739182106db6dbcede0e0699c00d1406eec",
    "Queue.approximate_number_of_messages_not_visible": "5dbecc4dda174358d2aefa96e4b769def47fd6bb2c315241c451e8518c3fabab",
    "Queue.approximate_number_of_messages_delayed": "c3c1dadb0c42ed5f8f5e1fddc8384de67db2df9a4055504f10903bd0b55e8d2f",
    "Queue.pending_message_groups": "e940658c5997f32715080e4488bc2604faf7c50ba24cb0ad75f54f5768a96dfd",
    "SQSBackend.receive_message": "065f3e5e7d2144089ce3b5d16d9306243ccd2f3ee11b44beb851292fadb7652f",
    "SQSBackend.change_message_visibility": "f0e9df5f66627114c9249020675ff5accee62a9cab5e797442538c13ac593b99",
    "SQSBackend.purge_queue": "36c15547d700ca8b1096a83f2a1684abaa9b0beec814296122cabbf1e2308018",
    "SQSBackend.delete_message": "9eb658afdceb6bd9de79334fb31591bc0aa44bc924c0486516165418bbfff777",
    "SQSBackend.delete_message_batch": "53c0bc5d5f51468ad2e6311da0417ec613b5da28d33337c66a3f1f51d99147b2",
    "SQSBackend.change_message_visibility_batch": "6194b4570c67a1a0ca8c8b323ecdbf4bf851515379a5145c8396ada0d93da963",
    "Message.__init__": "4ab16d5eb16ec41c7d3907f6d30fedb903a124645f645b5ceda3b0bdcde88ea0",
    "Message.mark_sent": "0c04f21957a0d5fb72bc47e1b71666b97b48ac707d970864469cf31f68be2cd6",
    "Message.mark_received": "98e7ec115c7fcb9f34b06f42cb88a96ee9b595870bdad0105e25c4d8df462c97",
    "Message.change_visibility": "fcde8986de1390dce4e6015305233a4545ff8193b2d98b7cf5ae544a9d543084",
    "Message.delay": "4af4d292f3a61eaaa694796d63290140532b17297c111ef7468dd2209d67c833",
    "Message.visible": "5129b573308de62a700c40541df76673710ff2303258839ac66990eb56f27f27",
    "Message.delayed": "e2fd48abf582683aa4630cbd95daef06deb9f6de33e002a89f8c3d8a3f334838",
    "Message.all_receipt_handles": "ed3dd73cb69b49111df4b511a0905c98c966ef33cf21a5fd06bd3f9d2617e153",
    "Message.had_receipt_handle": "31a347382a7315b72cefcd67fb5cf3c794406542cd3bbe1f4a1d0eb0fb014f91",
    "_filter_message_attributes": "2e61eb0503c8ea0acfc9e69207e609006757b5bca6a46cdb315b80c1b360b788",
}


# 3. (names under moto.dynamodb.models)
_INDEX_SOURCES = {
    "dynamodb:table.Table.query": "002b4d00be6df07cf37f6cbe0132e5eb89455ae12a8e79b23db3fb492450f21e",
    "dynamodb:table.Table.all_items": "c80d2ee3c896acd0cab6ca35aaeae3ab3fb65858933f8a3403d4e027c240f31d",
    "dynamodb:dynamo_type.DynamoType.__hash__": "4d37bb816dede3221cef85255e0338002372cbad3899909b4b2a7532f7197f05",
    "dynamodb:dynamo_type.DynamoType.__eq__": "48f12362c49f00c1138f550163b14b9c2f3bf0a50f0f907f426510a0417052c1",
    "dynamodb:DynamoDBBackend.query": "b8f2b308cd13edb48bb59ab0321ec3f935605629acb1d1ed634ba9f2bbcb107e",
}


# 4. (names under moto.dynamodb.comparisons)
_CONDITION_SOURCES = {
    "comparisons:ConditionExpressionParser.__init__": "4a3f092d6b0f1a260976048a99937788a7387015d1f0c7b0fc6360cf582508f0",
    "comparisons:ConditionExpressionParser.parse": "5c9b63c5f49ed5d5d644eb0ac7422fb3c2ac4bbd310374f4161686bc4e10c453",
}


# 5. (names under moto)
_DISPATCH_SOURCES = {
    "moto:backends.list_of_moto_modules": "4f741a10b06500e840c3aaa1b4f02706e6f2bfbababc0e8a2a7b9c9d0e8957dc",
    "moto:core.utils.method_names_from_class": "9dbac89d082b655fee902c450e69de9dbadf9699ad06411298494984b55138c3",
    "moto:core.responses.BaseResponse.call_action": "26076963fd17fd1a40be642032b5a8d90f159c19d01b80a5f0b0c839770ee0d6",
}

# 6. (names under werkzeug.serving: moto_server's HTTP server)
_KEEPALIVE_SOURCES = {
    "werkzeug:WSGIRequestHandler.make_environ": "5aa026f5fa8ca3c20e7be737c7b2a8f6b9027896ea2140db2a935f323614eeb9",
    "werkzeug:WSGIRequestHandler.run_wsgi": "8d9f9261a16f14bc926f5ef6e270de31841c733a71bba9f5d0a437daeb0af272",
    "werkzeug:BaseWSGIServer.__init__": "265a7009e32d88ce28299fac99a080d259308cde8b2c04aacb07a69bf7ef132d",
}


def _source(qualname):
    import moto.sqs.models

    obj = moto.sqs.models
    if qualname.startswith("werkzeug:"):
        import werkzeug.serving

        obj, qualname = werkzeug.serving, qualname[len("werkzeug:"):]
    elif qualname.startswith("dynamodb:"):
        import moto.dynamodb.models

        obj, qualname = moto.dynamodb.models, qualname[len("dynamodb:"):]
    elif qualname.startswith("moto:"):
        import importlib

        path, qualname = qualname[len("moto:"):].split("."), ""
        for i in range(len(path), 0, -1):
            try:
                obj = importlib.import_module("moto." + ".".join(path[:i]))
            except ImportError:
                continue
            qualname = ".".join(path[i:])
            break
    elif qualname.startswith("comparisons:"):
        import moto.dynamodb.comparisons

        obj, qualname = moto.dynamodb.comparisons, qualname[len("comparisons:"):]
    for part in qualname.split(".") if qualname else ():
        obj = getattr(obj, part)
    if isinstance(obj, property):
        obj = obj.fget
    return hashlib.sha256(inspect.getsource(obj).encode()).hexdigest()


def _check(sources):
    for name, want in sources.items():
        try:
            got = _source(name)
        except Exception as e:
            raise RuntimeError("moto's %s: %s" % (name, e))
        if got != want:
            raise RuntimeError("moto's %s is not the one this patch was written for" % name)


def _patch_clock(m):
    _unix_time, _unix_time_millis = m.unix_time, m.unix_time_millis

    def fast_unix_time(dt=None):
        return time.time() if dt is None else _unix_time(dt)

    def fast_unix_time_millis(dt=None):
        return time.time() * 1000.0 if dt is None else _unix_time_millis(dt)

    def valid(self, queue_name, message):
        queue = self.get_queue(queue_name)
        retain_until = int(queue.message_retention_period) + message.sent_timestamp / 1000
        return not retain_until <= m.unix_time()

    m.unix_time, m.unix_time_millis = fast_unix_time, fast_unix_time_millis
    m.SQSBackend.is_message_valid_based_on_retention_period = valid


class _Timed:
    """Messages keyed by a time (ms), with a heap to drop the ones whose
    time has passed. Heap entries left behind by a change are skipped."""

    __slots__ = ("keys", "heap")

    def __init__(self):
        self.keys = {}
        self.heap = []

    def set(self, msg, key):
        self.keys[msg] = key
        heapq.heappush(self.heap, (key, next(_tick), msg))

    def discard(self, msg):
        self.keys.pop(msg, None)

    def expire(self, passed, gone):
        """Removes the messages whose key passed(key) says has passed and
        calls gone(msg) for each."""
        heap, keys = self.heap, self.keys
        while heap and passed(heap[0][0]):
            key, _, msg = heapq.heappop(heap)
            if keys.get(msg) == key:
                del keys[msg]
                gone(msg)


class _Store:
    """A queue's messages, for moto's Queue._messages. It iterates, appends,
    removes and counts like moto's list, and also knows which messages are
    available (visible and not delayed) in moto's order.

    At a time now (ms, one reading per call, as moto.sqs.models reads it):
    a message is not visible while now <= visible_at (Message.visible) and
    delayed while now < delayed_until (Message.delayed); it is available
    when neither. Only time, Message.mark_received, Message.change_visibility
    and Message.delay change these, and the patched calls tell the store
    (touch) when they call them; time only makes messages available."""

    __slots__ = ("order", "seq", "by_handle", "invisible", "delayed", "avail", "in_avail")

    def __init__(self, messages=()):
        self.order = {}  # message -> sequence number, in moto's list order
        self.seq = 0
        self.by_handle = {}  # every receipt handle a message here had -> message
        self.invisible = _Timed()  # by visible_at
        self.delayed = _Timed()  # by delayed_until
        self.avail = []  # heap of (seq, tick, message): available, or stale
        self.in_avail = set()  # the messages with a live entry in avail
        for msg in messages:
            self.append(msg)

    # -- what moto does with the list --
    def __iter__(self):
        return iter(list(self.order))

    def __len__(self):
        return len(self.order)

    def __bool__(self):
        return bool(self.order)

    def __contains__(self, msg):
        return msg in self.order

    def append(self, msg):
        self.seq += 1
        self.order[msg] = self.seq
        for handle in msg.all_receipt_handles:
            if handle is not None:
                self.by_handle[handle] = msg
        self.touch(msg, _now())

    def remove(self, msg):
        if msg not in self.order:
            raise ValueError("list.remove(x): x not in list")
        del self.order[msg]
        for handle in msg.all_receipt_handles:
            if self.by_handle.get(handle) is msg:
                del self.by_handle[handle]
        self.invisible.discard(msg)
        self.delayed.discard(msg)
        self.in_avail.discard(msg)

    # -- the index --
    def find(self, handle):
        """The message here that has or had this receipt handle, or None."""
        return self.by_handle.get(handle)

    def received(self, msg):
        self.by_handle[msg.receipt_handle] = msg

    def touch(self, msg, now):
        """Files msg by its visible_at and delayed_until at now."""
        if msg.visible_at >= now:
            self.invisible.set(msg, msg.visible_at)
        else:
            self.invisible.discard(msg)
        if msg.delayed_until > now:
            self.delayed.set(msg, msg.delayed_until)
        else:
            self.delayed.discard(msg)
        self._file(msg)

    def _file(self, msg):
        available = msg not in self.invisible.keys and msg not in self.delayed.keys
        if available and msg not in self.in_avail:
            self.in_avail.add(msg)
            heapq.heappush(self.avail, (self.order[msg], next(_tick), msg))
        elif not available:
            self.in_avail.discard(msg)

    def advance(self, now):
        """Files as available the messages that time made available."""
        self.invisible.expire(lambda visible_at: now > visible_at, self._file)
        self.delayed.expire(lambda delayed_until: now >= delayed_until, self._file)

    def take(self):
        """Pops the first available message in moto's order (or None); the
        caller puts it back (put) or files it (touch) or removes it."""
        while self.avail:
            seq, _, msg = heapq.heappop(self.avail)
            if msg in self.in_avail and self.order.get(msg) == seq:
                self.in_avail.discard(msg)
                return msg
        return None

    def put(self, msg):
        self._file(msg)

    # -- counts at now (after advance) --
    def not_visible(self):
        return len(self.invisible.keys)

    def n_delayed(self):
        return len(self.delayed.keys)

    def available(self):
        both = sum(1 for msg in self.delayed.keys if msg in self.invisible.keys)
        return len(self.order) - len(self.invisible.keys) - len(self.delayed.keys) + both


def _now():
    return _m.unix_time_millis()


def _patch_store(m):
    ReceiptHandleIsInvalid = m.ReceiptHandleIsInvalid
    InvalidParameterValue = m.InvalidParameterValue
    _filter_message_attributes = m._filter_message_attributes

    def get_messages(self):
        return self.__dict__["_memo_store"]

    def set_messages(self, messages):
        self.__dict__["_memo_store"] = messages if isinstance(messages, _Store) else _Store(messages)

    def store_at(queue):
        store = queue._messages
        store.advance(m.unix_time_millis())
        return store

    def approximate_number_of_messages_delayed(self):
        return store_at(self).n_delayed()

    def approximate_number_of_messages_not_visible(self):
        return store_at(self).not_visible()

    def approximate_number_of_messages(self):
        return store_at(self).available()

    def any_available(queue):
        store = store_at(queue)
        msg = store.take()
        if msg is None:
            return False
        store.put(msg)
        return True

    def wait_for_messages(self, timeout):
        with self._messages_lock:
            self._messages_lock.wait_for(lambda: any_available(self), timeout=timeout)

    def queue_delete_message(self, receipt_handle):
        if receipt_handle in self.deleted_messages:
            # Already deleted - gracefully handle deleting it again
            return
        message = self._messages.find(receipt_handle)
        if message is None:
            raise ReceiptHandleIsInvalid()
        # Delete message from queue regardless of pending state
        self.pending_messages.discard(message)
        self.deleted_messages.update(message.all_receipt_handles)
        self._messages.remove(message)

    def change_message_visibility(self, queue_name, receipt_handle, visibility_timeout):
        queue = self.get_queue(queue_name)
        message = queue._messages.find(receipt_handle)
        if message is None:
            raise ReceiptHandleIsInvalid
        visibility_timeout_msec = int(visibility_timeout) * 1000
        given_visibility_timeout = m.unix_time_millis() + visibility_timeout_msec
        if given_visibility_timeout - message.sent_timestamp > 43200 * 1000:
            raise InvalidParameterValue(
                f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
                "VisibilityTimeout for the message is beyond the limit [43200 seconds]"
            )
        message.change_visibility(visibility_timeout)
        queue._messages.touch(message, m.unix_time_millis())
        if message.visible and message in queue.pending_messages:
            # If the message is visible again, remove it from pending
            # messages.
            queue.pending_messages.remove(message)

    def receive_message(
        self,
        queue_name,
        count,
        wait_seconds_timeout,
        visibility_timeout,
        message_attribute_names=None,
    ):
        # moto's receive_message, walking the store's available messages in
        # moto's order instead of a list of all visible ones.
        if message_attribute_names is None:
            message_attribute_names = []
        queue = self.get_queue(queue_name)
        result = []
        previous_result_count = len(result)

        polling_end = m.unix_time() + wait_seconds_timeout
        currently_pending_groups = deepcopy(queue.pending_message_groups)

        while True:
            if result or (wait_seconds_timeout and m.unix_time() > polling_end):
                break

            messages_to_dlq = []
            store = queue._messages
            now = m.unix_time_millis()
            store.advance(now)
            seen = []  # taken and still available: back in after the walk

            while True:
                message = store.take()
                if message is None:
                    break
                if not (now > message.visible_at and now >= message.delayed_until):
                    store.touch(message, now)  # not available after all
                    continue

                if message in queue.pending_messages:
                    # The message is pending but is visible again, so the
                    # consumer must have timed out.
                    queue.pending_messages.remove(message)
                    currently_pending_groups = deepcopy(queue.pending_message_groups)

                if message.group_id and queue.fifo_queue:
                    if message.group_id in currently_pending_groups:
                        # A previous call is still processing messages in this group, so we cannot deliver this one.
                        seen.append(message)
                        continue

                if (
                    queue.dead_letter_queue is not None
                    and queue.redrive_policy
                    and message.approximate_receive_count
                    >= queue.redrive_policy["maxReceiveCount"]
                ):
                    messages_to_dlq.append(message)
                    continue

                queue.pending_messages.add(message)
                message.mark_received(visibility_timeout=visibility_timeout)
                store.received(message)
                if message.visible_at >= now:
                    store.touch(message, now)
                else:
                    seen.append(message)
                # Create deepcopy to not mutate the message state when filtering for attributes
                message_copy = deepcopy(message)
                _filter_message_attributes(message_copy, message_attribute_names)
                if not self.is_message_valid_based_on_retention_period(queue_name, message):
                    break
                result.append(message_copy)
                if len(result) >= count:
                    break

            for message in seen:
                store.put(message)

            for message in messages_to_dlq:
                queue._messages.remove(message)
                queue.dead_letter_queue.add_message(message)

            if previous_result_count == len(result):
                if wait_seconds_timeout == 0:
                    # There is no timeout and no additional results,
                    # so break to avoid an infinite loop.
                    break

                queue.wait_for_messages(1)
                continue

            previous_result_count = len(result)

        return result

    m.Queue._messages = property(get_messages, set_messages)
    m.Queue.approximate_number_of_messages_delayed = property(approximate_number_of_messages_delayed)
    m.Queue.approximate_number_of_messages_not_visible = property(approximate_number_of_messages_not_visible)
    m.Queue.approximate_number_of_messages = property(approximate_number_of_messages)
    m.Queue.wait_for_messages = wait_for_messages
    m.Queue.delete_message = queue_delete_message
    m.SQSBackend.change_message_visibility = change_message_visibility
    m.SQSBackend.receive_message = receive_message


# 3. DynamoDB index queries.

_ddb_gen = [0]  # moves around every DynamoDB call that may write
_ddb_groups = {}  # (id(table), attribute) -> (generation, table, {value: [items]})
_ddb_local = threading.local()  # the items this thread's Table.query sees
_DDB_READ_PREFIXES = ("get_", "describe_", "list_")
_DDB_READ_CALLS = {"query", "scan", "batch_get_item", "transact_get_items"}
_KEY_TYPES = ("S", "N", "B")  # hashable, and equal exactly when DynamoType.__eq__ says so


def _writing(f):
    @functools.wraps(f)
    def call(*args, **kwargs):
        _ddb_gen[0] += 1
        try:
            return f(*args, **kwargs)
        finally:
            _ddb_gen[0] += 1

    return call


def _patch_index(models):
    import moto.dynamodb.models.table as t
    from moto.dynamodb.models.dynamo_type import Item

    backend = models.DynamoDBBackend
    for name, f in list(vars(backend).items()):
        if name.startswith("_") or not inspect.isfunction(f):
            continue
        if name.startswith(_DDB_READ_PREFIXES) or name in _DDB_READ_CALLS:
            continue
        setattr(backend, name, _writing(f))
    for name in ("put_item", "delete_item", "delete"):
        setattr(t.Table, name, _writing(getattr(t.Table, name)))

    orig_all_items, orig_query = t.Table.all_items, t.Table.query
    signature = inspect.signature(orig_query)

    def candidates(table, args, kwargs):
        """The items a query's key condition can match, in all_items'
        order, or None to let moto look at every item."""
        try:
            a = signature.bind(table, *args, **kwargs).arguments
        except TypeError:
            return None
        conditions = a.get("hash_key_conditions")
        if not a.get("index_name") or not conditions:
            return None
        attr, value = conditions[0]
        if getattr(value, "type", None) not in _KEY_TYPES:
            return None
        gen = _ddb_gen[0]
        hit = _ddb_groups.get((id(table), attr))
        if hit is None or hit[0] != gen or hit[1] is not table:
            groups = {}
            for item in orig_all_items(table):
                if not isinstance(item, Item):
                    continue
                v = item.attrs.get(attr)
                if v and getattr(v, "type", None) in _KEY_TYPES:
                    groups.setdefault(v, []).append(item)
            hit = (gen, table, groups)
            _ddb_groups[(id(table), attr)] = hit
        return hit[2].get(value, [])

    def all_items(self):
        override = getattr(_ddb_local, "items", None)
        if override is not None and override[0] is self:
            return list(override[1])
        return orig_all_items(self)

    def query(self, *args, **kwargs):
        items = candidates(self, args, kwargs)
        if items is None:
            return orig_query(self, *args, **kwargs)
        before = getattr(_ddb_local, "items", None)
        _ddb_local.items = (self, items)
        try:
            return orig_query(self, *args, **kwargs)
        finally:
            _ddb_local.items = before

    t.Table.all_items = all_items
    t.Table.query = query


# 4. DynamoDB condition expressions.

_CONDITIONS_MAX = 1024  # remembered parses; all are forgotten when full


def _patch_conditions(comparisons):
    import json

    parser = comparisons.ConditionExpressionParser
    orig_parse = parser.parse
    parsed = {}

    def parse(self):
        try:
            key = (
                self.condition_expression,
                json.dumps(self.expression_attribute_names),
                json.dumps(self.expression_attribute_values),
            )
        except (TypeError, ValueError):
            return orig_parse(self)
        hit = parsed.get(key)
        if hit is None:
            op = orig_parse(self)
            hit = (op, list(self.expr_attr_names_found), list(self.expr_attr_values_found))
            if len(parsed) >= _CONDITIONS_MAX:
                parsed.clear()
            parsed[key] = hit
            return op
        op, names, values = hit
        self.expr_attr_names_found.extend(names)
        self.expr_attr_values_found.extend(values)
        return op

    parser.parse = parse


# 5. dispatch.


def _patch_dispatch():
    import moto.backends as backends
    import moto.core.responses as responses

    orig_modules = backends.list_of_moto_modules
    modules = []

    def list_of_moto_modules():
        if not modules:
            modules.append(tuple(orig_modules()))
        return iter(modules[0])

    orig_names = responses.method_names_from_class
    names = {}

    def method_names_from_class(clazz):
        hit = names.get(clazz)
        if hit is None:
            hit = names[clazz] = tuple(orig_names(clazz))
        return list(hit)

    backends.list_of_moto_modules = list_of_moto_modules
    responses.method_names_from_class = method_names_from_class


# 6. keep-alive.

_conn = threading.local()  # whether the connection this thread serves stays open


def _patch_keepalive():
    import io
    import selectors
    import types

    import werkzeug.serving as serving

    handler = serving.WSGIRequestHandler
    orig_make_environ, orig_send_header = handler.make_environ, handler.send_header

    def make_environ(self):
        environ = orig_make_environ(self)
        _conn.keep = False
        if self.protocol_version < "HTTP/1.1" or self.close_connection or environ.get("wsgi.input_terminated"):
            return environ
        try:
            n = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return environ
        if n < 0:
            return environ
        # A "100 Continue" that http.server wrote for "Expect:
        # 100-continue" (the S3 client's large uploads) sits in the
        # buffered wfile: send it, or the client waits out its timeout
        # (a second) before it sends the body read here.
        self.wfile.flush()
        body = self.rfile.read(n) if n else b""
        if len(body) != n:  # the client went away part way
            self.close_connection = True
        environ["wsgi.input"] = io.BytesIO(body)
        _conn.keep = len(body) == n
        return environ

    def send_header(self, keyword, value):
        if getattr(_conn, "keep", False) and keyword.lower() == "connection" and value.lower() == "close":
            return
        orig_send_header(self, keyword, value)

    class _NothingLeft:
        """run_wsgi's drain, for a connection whose body was read whole:
        what follows is the client's next request, not leftovers."""

        def register(self, *args):
            pass

        def select(self, timeout=None):
            return []

        def close(self):
            pass

    def default_selector():
        return _NothingLeft() if getattr(_conn, "keep", False) else selectors.DefaultSelector()

    shim = types.SimpleNamespace(DefaultSelector=default_selector, EVENT_READ=selectors.EVENT_READ)
    orig_one_request = handler.handle_one_request

    def handle_one_request(self):
        # Each request starts closing: an error http.server answers before
        # make_environ (a request line or headers over its limits) keeps
        # its "Connection: close", and the connection ends with it.
        _conn.keep = False
        orig_one_request(self)

    handler.handle_one_request = handle_one_request
    handler.make_environ = make_environ
    handler.send_header = send_header
    handler.disable_nagle_algorithm = True
    handler.wbufsize = -1  # buffered: run_wsgi flushes after each body write
    serving.selectors = shim


def apply():
    """Applies each patch that fits the installed moto; returns the names of
    those applied and says on stderr why any other was not."""
    global _m
    applied = []
    try:
        import moto.sqs.models as m

        _m = m
    except Exception as e:
        print("memo twin: moto speed patches not applied: %r" % (e,), file=sys.stderr)
        return applied
    for name, sources, patch in (
        ("clock", _CLOCK_SOURCES, _patch_clock),
        ("store", _STORE_SOURCES, _patch_store),
        ("index", _INDEX_SOURCES, _patch_index),
        ("conditions", _CONDITION_SOURCES, _patch_conditions),
        ("dispatch", _DISPATCH_SOURCES, _patch_dispatch),
        ("keepalive", _KEEPALIVE_SOURCES, _patch_keepalive),
    ):
        try:
            _check(sources)
            if name in ("dispatch", "keepalive"):
                patch()
            elif name == "index":
                import moto.dynamodb.models

                patch(moto.dynamodb.models)
            elif name == "conditions":
                import moto.dynamodb.comparisons

                patch(moto.dynamodb.comparisons)
            else:
                patch(m)
            applied.append(name)
        except Exception as e:  # any other moto: run this part as it is
            print("memo twin: moto speed patch %r not applied: %s" % (name, e), file=sys.stderr)
    return applied


if __name__ == "__main__":
    if sys.argv[1:] == ["--sources"]:
        import moto.sqs.models

        for name in sorted(set(_CLOCK_SOURCES) | set(_STORE_SOURCES) | set(_INDEX_SOURCES) | set(_CONDITION_SOURCES) | set(_DISPATCH_SOURCES) | set(_KEEPALIVE_SOURCES)):
            print(name, _source(name))
        sys.exit(0)
    try:
        import moto.server  # noqa: F401
        import moto.sqs.models  # noqa: F401
    except Exception as e:
        # Not this python's moto (moto_server may be another's): the twin
        # then starts moto_server as it is.
        print("memo twin: python3 cannot import moto: %r" % (e,), file=sys.stderr)
        sys.exit(NO_MOTO)
    apply()

    from moto.server import main

    sys.argv[0] = "moto_server"
    sys.exit(main())
