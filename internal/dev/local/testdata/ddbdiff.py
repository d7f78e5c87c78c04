# Drives moto's DynamoDB (in process, through boto3 and moto's mock) with a
# seeded random sequence of writes (plain and conditional) and index queries and prints every
# answer, one JSON line per call. Run once with moto as installed and once
# with --patch motopatch.py: the two transcripts must be equal
# (ddbdiff_test.go). The table is memo's results table: hash key name, a
# global secondary index on batch_shard projecting status, and a second
# index with a range key, so that the patch's candidates meet moto's whole
# key condition; values of the key attribute are strings, numbers, absent
# and of other types.
#
#   python3 ddbdiff.py [--patch PATH] [--seed N] [--calls N]
import json
import random

from diffharness import parse_and_patch

args = parse_and_patch(500, ["index", "conditions", "dispatch"])

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

rnd = random.Random(args.seed)
NAMES = ["n%02d" % i for i in range(40)]
SHARDS = ["b#%d" % i for i in range(4)] + ["c#0"]


def shard_value():
    r = rnd.random()
    if r < 0.8:
        return {"S": rnd.choice(SHARDS)}
    if r < 0.9:
        return None  # absent: the item is not in the index
    return {"N": str(rnd.randint(0, 2))}  # the wrong type (moto may refuse it)


def answer(op, f, **kw):
    try:
        out = f(**kw)
        out.pop("ResponseMetadata", None)
        res = {"op": op, "out": out}
    except Exception as e:  # the error, as moto gives it
        resp = getattr(e, "response", {})
        code = resp.get("Error", {}).get("Code", type(e).__name__)
        # the message, and the item a refused condition returns
        res = {"op": op, "error": code, "message": resp.get("Error", {}).get("Message"), "item": resp.get("Item")}
    print(json.dumps(res, sort_keys=True))
    return res


with mock_aws():
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    # another service between DynamoDB's calls: each answers from its own
    # response class's actions
    sts = boto3.client("sts", region_name="us-east-1")
    ddb.create_table(
        TableName="t",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "name", "AttributeType": "S"},
            {"AttributeName": "batch_shard", "AttributeType": "S"},
            {"AttributeName": "rank", "AttributeType": "N"},
        ],
        KeySchema=[{"AttributeName": "name", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "batch-shard",
                "KeySchema": [{"AttributeName": "batch_shard", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["status"]},
            },
            {
                "IndexName": "ranked",
                "KeySchema": [
                    {"AttributeName": "batch_shard", "KeyType": "HASH"},
                    {"AttributeName": "rank", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
    )

    def item():
        it = {"name": {"S": rnd.choice(NAMES)}, "status": {"S": rnd.choice(["ok", "error"])}, "pad": {"S": "x" * rnd.randint(0, 300)}}
        v = shard_value()
        if v is not None:
            it["batch_shard"] = v
        if rnd.random() < 0.7:
            it["rank"] = {"N": str(rnd.randint(0, 9))}
        return it

    def query(index, key, **extra):
        kw = dict(
            TableName="t",
            IndexName=index,
            KeyConditionExpression="#k = :k",
            ExpressionAttributeNames={"#k": "batch_shard"},
            ExpressionAttributeValues={":k": key},
        )
        kw.update(extra)
        pages = 0
        while True:
            res = answer("query", ddb.query, **kw)
            pages += 1
            last = res.get("out", {}).get("LastEvaluatedKey")
            if not last or pages > 100:
                return
            kw["ExclusiveStartKey"] = last

    # memo's conditional PutItem (results.PutInput) and a few variants:
    # the same expression with values drawn from a small set, so that the
    # same request comes again, with either outcome; a placeholder that is
    # not defined, a name that is not used, an expression that does not
    # parse (each an error, every time).
    CONDITIONS = [
        "attribute_not_exists(#n) OR #b = :b OR attribute_not_exists(#s) OR #s < :s",
        "attribute_not_exists(#n) OR #b = :b OR attribute_not_exists(#s)",
        "attribute_not_exists(#n) OR (attribute_not_exists(#s) AND #b <> :b) OR #s < :s",
        "#b = :b AND #s < :s",
        "attribute_not_exists(#n) OR #b = :undefined",
        "attribute_not_exists(#n) OR #b = :b OR",
    ]

    def conditional_put():
        it = item()
        it["batch"] = {"S": rnd.choice(["b1", "b2", "b3"])}
        if rnd.random() < 0.8:
            it["stamp"] = {"S": rnd.choice(["s1", "s2", "s3"])}
        cond = rnd.choice(CONDITIONS)
        names = {"#b": "batch"}
        if "#n" in cond or rnd.random() < 0.05:
            names["#n"] = "name"
        values = {":b": {"S": rnd.choice(["b1", "b2", "b3"])}}
        if "#s" in cond:
            names["#s"] = "stamp"
        if ":s" in cond:
            values[":s"] = {"S": rnd.choice(["s1", "s2", "s3", "s4"])}
        kw = dict(TableName="t", Item=it, ConditionExpression=cond, ExpressionAttributeNames=names, ExpressionAttributeValues=values)
        if rnd.random() < 0.3:
            kw["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        res = answer("cput", ddb.put_item, **kw)
        if rnd.random() < 0.2:
            answer("get", ddb.get_item, TableName="t", Key={"name": it["name"]})
        return res

    for _ in range(args.calls):
        r = rnd.random()
        if r < 0.35:
            if rnd.random() < 0.5:
                answer("put", ddb.put_item, TableName="t", Item=item())
            else:
                conditional_put()
        elif r < 0.42:
            answer("delete", ddb.delete_item, TableName="t", Key={"name": {"S": rnd.choice(NAMES)}})
        elif r < 0.50:
            v = shard_value()
            if v is None:
                answer("update", ddb.update_item, TableName="t", Key={"name": {"S": rnd.choice(NAMES)}}, UpdateExpression="REMOVE batch_shard")
            else:
                answer("update", ddb.update_item, TableName="t", Key={"name": {"S": rnd.choice(NAMES)}},
                       UpdateExpression="SET batch_shard = :v", ExpressionAttributeValues={":v": v})
        elif r < 0.55:
            reqs = [{"PutRequest": {"Item": item()}} for _ in range(rnd.randint(1, 5))]
            names = {q["PutRequest"]["Item"]["name"]["S"] for q in reqs}
            if len(names) == len(reqs):
                answer("batch", ddb.batch_write_item, RequestItems={"t": reqs})
        elif r < 0.57:
            answer("sts", sts.get_caller_identity)
        else:
            key = rnd.choice([{"S": s} for s in SHARDS] + [{"S": "none"}, {"N": "1"}])
            extra = {}
            if rnd.random() < 0.5:
                extra["Limit"] = rnd.randint(1, 6)
            if rnd.random() < 0.3:
                extra["ScanIndexForward"] = False
            kind = rnd.random()
            if kind < 0.4:
                extra.update(Select="COUNT", FilterExpression="#s = :ok")
                extra["ExpressionAttributeNames"] = {"#k": "batch_shard", "#s": "status"}
                extra["ExpressionAttributeValues"] = {":k": key, ":ok": {"S": "ok"}}
            elif kind < 0.6:
                extra["ProjectionExpression"] = "#n, #s"
                extra["ExpressionAttributeNames"] = {"#k": "batch_shard", "#n": "name", "#s": "status"}
            index = "ranked" if rnd.random() < 0.25 else "batch-shard"
            query(index, key, **extra)
            if rnd.random() < 0.05:
                answer("scan", ddb.scan, TableName="t", IndexName="batch-shard")

# what moto_server finds a request's backend among (moto's folders)
import moto.backends  # noqa: E402

print(json.dumps({"op": "modules", "out": list(moto.backends.list_of_moto_modules())}))
