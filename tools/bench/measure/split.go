package measure

import (
	"math"

	"github.com/memohq/memo/internal/pipeline/splitter"
)

// The splitter on paper as it runs on AWS: one plan pass per batch file,
// then its chunks, split_chunk_concurrency at a time across every batch
// (they share the chunk queue's event source mapping), then the report.

// MaxBatchOps is the largest batch the splitter accepts
// (splitter.DefaultMaxOps); a bigger workload is files of at most this many
// ops, uploaded side by side.
const MaxBatchOps = splitter.DefaultMaxOps

// Split is the on-paper time of splitting ops on AWS.
type Split struct {
	Files  float64 // batch files of at most MaxBatchOps, uploaded at once
	Chunks float64 // chunk tasks over every file
	Rounds float64 // Chunks / split_chunk_concurrency, rounded up
	// PlanSeconds is one file's plan pass; the files' plan passes run side
	// by side (each its own S3-triggered invocation).
	PlanSeconds float64
	// ChunkSeconds is one full chunk task's invocation.
	ChunkSeconds float64
	// ChunkBound is what sets a chunk's time: its sends
	// ("splitter_send_concurrency") or its CPU ("splitter_memory_mb").
	ChunkBound string
	// Bound names what the split's time grows with.
	Bound   string
	Seconds float64 // upload to the report written
}

func (m Model) splitterShare() float64 { return m.share(m.Defaults.SplitterMemoryMB) }

// s3Read is one GET of n bytes: the first byte, then the stream.
func (m Model) s3Read(n float64) float64 {
	return m.AWS.S3Call.Seconds() + n/m.AWS.S3ReadBytesPerSecond
}

// PlanSeconds is the plan pass of a batch of ops, one invocation: its
// measured CPU per op at the splitter's share of a vCPU, plus reading the
// object (the model does not overlap the two), plus writing the plan and
// the in-progress report and sending the chunk tasks, 10 a call, one call
// at a time (opsqueue.ChunkSender).
func (m Model) PlanSeconds(ops float64) float64 {
	cpu := ops * m.CPU.PlanPerOp.Seconds() / m.splitterShare()
	chunks := math.Ceil(ops / m.Defaults.ChunkOps)
	return cpu + m.s3Read(ops*m.OpBytes) + 2*m.AWS.S3Call.Seconds() + math.Ceil(chunks/10)*m.AWS.SQSCall.Seconds()
}

// chunkCore is a chunk task's sends, splitter_send_concurrency at a time,
// or its CPU at the splitter's share, whichever is the longer (they
// overlap), and which it was.
func (m Model) chunkCore(per PerOp, ops float64) (float64, string) {
	sends := ops * per.SendCalls
	cpu := (ops*m.CPU.SplitterPerOp.Seconds() + sends*m.CPU.SendCall.Seconds()) / m.splitterShare()
	io := sends / m.Defaults.SendConcurrency * m.AWS.SQSCall.Seconds()
	if cpu > io {
		return cpu, "splitter_memory_mb"
	}
	return io, "splitter_send_concurrency"
}

// ChunkSeconds is one chunk task of ops ops, one invocation: it reads the
// plan and its byte range, enqueues its ops (chunkCore) and writes its done
// marker.
func (m Model) ChunkSeconds(per PerOp, ops float64) float64 {
	core, _ := m.chunkCore(per, ops)
	return m.s3Read(0) + m.s3Read(ops*m.OpBytes) + core + m.AWS.S3Call.Seconds()
}

// ReportSeconds is the last chunk's list of the done markers and the
// report's PUT.
func (m Model) ReportSeconds() float64 { return 2 * m.AWS.S3Call.Seconds() }

// Split is the time from upload to report of ops ops. Above MaxBatchOps the
// ops are files of equal size side by side: their plan passes run at once,
// and all their chunks share the chunk mapping's concurrency. Every chunk
// is counted as a full one (an upper bound for a file's last chunk).
func (m Model) Split(per PerOp, ops float64) Split {
	s := Split{Files: math.Ceil(ops / MaxBatchOps)}
	perFile := ops / s.Files
	chunkOps := math.Min(perFile, m.Defaults.ChunkOps)
	s.Chunks = s.Files * math.Ceil(perFile/m.Defaults.ChunkOps)
	s.Rounds = math.Ceil(s.Chunks / m.Defaults.ChunkConcurrency)
	s.PlanSeconds = m.PlanSeconds(perFile)
	s.ChunkSeconds = m.ChunkSeconds(per, chunkOps)
	_, s.ChunkBound = m.chunkCore(per, chunkOps)
	switch {
	case s.Rounds > 1:
		s.Bound = "split_chunk_concurrency"
	case s.PlanSeconds > s.ChunkSeconds:
		s.Bound = "the plan pass at splitter_memory_mb"
	default:
		s.Bound = s.ChunkBound
	}
	s.Seconds = s.PlanSeconds + s.Rounds*(s.ChunkSeconds+m.AWS.ChunkPollDelay.Seconds()) + m.ReportSeconds()
	return s
}
