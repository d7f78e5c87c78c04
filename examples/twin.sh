#!/usr/bin/env bash
# Drive the local twin with the stock AWS CLI and memo (both on PATH).
set -euo pipefail
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=

out=$(mktemp)
memo local > "$out" &                 # serves until interrupted
trap 'kill -INT $! 2>/dev/null; wait; rm -f "$out"' EXIT
until grep -q '^dlq:' "$out"; do sleep 0.2; done
endpoint=$(awk '/^endpoint:/ {print $2}' "$out")
bucket=$(awk '/^bucket:/ {print $2}' "$out")
table=$(awk '/^table:/ {print $2}' "$out")

key="batches/my batch.json"           # a key with a space
aws --endpoint-url "$endpoint" s3 cp examples/mixed.json "s3://$bucket/$key"
etag=$(aws --endpoint-url "$endpoint" s3api head-object --bucket "$bucket" --key "$key" \
  --query ETag --output text | tr -d '"')

memo status --endpoint "$endpoint" --watch "$key@$etag"
memo results --endpoint "$endpoint" --batch "$key@$etag" --format arrow
aws --endpoint-url "$endpoint" dynamodb get-item --table-name "$table" \
  --key '{"name": {"S": "div"}}' --query 'Item.[status.S, error.S]' --output text
