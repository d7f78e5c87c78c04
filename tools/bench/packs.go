package main

import (
	"context"
	"fmt"
	"io"

	"github.com/memohq/memo/tools/bench/measure"
)

// packSizes are the pack sizes whose calls per op the bench measures: one
// op a message (memo before packing), the default, and larger packs.
var packSizes = []int{1, 0, 25, 50}

// packFigures prints the SQS and DynamoDB calls per op of an n-op batch on
// the twin at each pack size: what split_pack_ops's default is chosen from
// (docs/design.md, "Packed messages").
func packFigures(ctx context.Context, p *measure.Printer, n int, logw io.Writer) error {
	runs, err := measure.MeasurePacks(ctx, n, packSizes, logw)
	if err != nil {
		return err
	}
	p.Comment("packed messages: the same %d-op batch at several split_pack_ops, each on a fresh twin; calls per op counted by an SDK middleware", n)
	for _, r := range runs {
		pp := r.Per
		k := fmt.Sprintf("twin_pack%d", r.PackOps)
		p.Figure(k+"_sqs_send_calls_per_op", pp.SendCalls, nil, fmt.Sprintf("%.2f messages a call", pp.MessagesPerSend))
		p.Figure(k+"_sqs_receive_calls_with_messages_per_op", pp.ReceiveCallsWithMsgs, nil, fmt.Sprintf("%.4f with empty polls", pp.ReceiveCalls))
		p.Figure(k+"_sqs_delete_calls_per_op", pp.DeleteCalls, nil, "")
		p.Figure(k+"_sqs_billed_requests_per_op", pp.SendChunks+pp.ReceiveChunksWithMsgs+pp.DeleteChunks, nil,
			"sends, receives with messages and deletes in 64 KB chunks of payload (SQS's billing unit)")
		p.Figure(k+"_ddb_write_calls_per_op", pp.WriteCalls, nil, "")
		p.Figure(k+"_ops_per_compute_invocation", pp.OpsPerInvocation, nil, fmt.Sprintf("%d invocations; %.0f ops/s upload to settled", r.Run.Invocations, r.Run.Rate()))
	}
	return nil
}
