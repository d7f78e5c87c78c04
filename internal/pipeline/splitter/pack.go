package splitter

import "github.com/memohq/memo/internal/pipeline/record"

// Packing: SQS bills a request, not a message, and a message may carry
// many ops. The splitter packs up to PackOps ops of a batch to a message
// (record.Message) and up to MaxSendBatch messages to a SendMessageBatch
// call, within SQS's limits on bytes: "The maximum allowed individual
// message size and the maximum total payload size (the sum of the
// individual lengths of all of the batched messages) are both 1 MiB
// (1,048,576 bytes)" (SendMessageBatch, Amazon SQS API Reference). A pack
// is cut at MaxPackBytes, a tenth of that, so that every call can carry
// MaxSendBatch packs, and so that a pack stays below 256 KiB, the
// MaximumMessageSize of queues made before SQS raised it to 1 MiB. Bytes
// matter to the bill too: "each 64 KB chunk of a payload is billed as 1
// request" (aws.amazon.com/sqs/pricing): packing saves calls, not bytes.

const (
	// MaxCallBytes is SendMessageBatch's limit on the sum of its bodies.
	MaxCallBytes = 1 << 20
	// MaxPackBytes is the most bytes of one message body the splitter
	// writes, unless one op alone is longer (batch's limits on an op make
	// that impossible: a name and an op fully escaped are far below it,
	// a JSON op of batch.MaxJSONOpBytes included: TestLongestOpsFitAPack).
	MaxPackBytes = MaxCallBytes / MaxSendBatch
	// DefaultPackOps is the most ops of one message (Terraform's
	// split_pack_ops): docs/design.md, "Packed messages", says why.
	DefaultPackOps = 10
	// MaxPackOps bounds the setting: a compute invocation takes
	// compute_batch_size messages of up to this many ops each.
	MaxPackOps = 1000
)

// packer packs the ops of one chunk into messages and the messages into
// groups of one send call each, handed to flush.
type packer struct {
	ops          int // the most ops of a pack
	batch, stamp string
	flush        func([]record.Message) error

	pack       record.Message
	packBytes  int
	group      []record.Message
	groupBytes int
}

// add packs op: into the current pack if it fits by count and by bytes,
// else into a new one (the current one joins the group first).
func (p *packer) add(op record.MessageOp) error {
	if n := len(p.pack.Ops); n > 0 {
		if size := record.OpSize(op); n < p.ops && p.packBytes+size <= MaxPackBytes {
			p.pack.Ops = append(p.pack.Ops, op)
			p.packBytes += size
			return nil
		}
		if err := p.closePack(); err != nil {
			return err
		}
	}
	p.pack = record.Message{Batch: p.batch, Stamp: p.stamp, Ops: make([]record.MessageOp, 1, min(p.ops, 64))}
	p.pack.Ops[0] = op
	p.packBytes = p.pack.Size()
	return nil
}

// closePack puts the current pack into the group, sending the group first
// if the pack would take it past MaxSendBatch messages or MaxCallBytes.
func (p *packer) closePack() error {
	if len(p.group) == MaxSendBatch || len(p.group) > 0 && p.groupBytes+p.packBytes > MaxCallBytes {
		if err := p.flushGroup(); err != nil {
			return err
		}
	}
	p.group = append(p.group, p.pack)
	p.groupBytes += p.packBytes
	p.pack = record.Message{}
	return nil
}

func (p *packer) flushGroup() error {
	if len(p.group) == 0 {
		return nil
	}
	g := p.group
	p.group, p.groupBytes = make([]record.Message, 0, MaxSendBatch), 0
	return p.flush(g)
}

// close sends what is left.
func (p *packer) close() error {
	if len(p.pack.Ops) > 0 {
		if err := p.closePack(); err != nil {
			return err
		}
	}
	return p.flushGroup()
}

// opsOf counts the ops of messages.
func opsOf(msgs []record.Message) int {
	n := 0
	for _, m := range msgs {
		n += len(m.Ops)
	}
	return n
}
