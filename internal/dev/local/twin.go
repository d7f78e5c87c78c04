// Package local is memo's local twin: the whole pipeline on an AWS emulator
// (moto) with no AWS account. It starts moto (or uses a given endpoint),
// provisions the resources Terraform creates by the same names, and runs
// the production splitter and compute handlers, invoked the way AWS invokes
// them (plumbing.go).
package local

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"

	"github.com/memohq/memo/internal/aws/app"
	"github.com/memohq/memo/internal/aws/awsconfig"
	"github.com/memohq/memo/internal/dev/weak"
	"github.com/memohq/memo/internal/ops/workspace"
)

// Options configure a twin.
type Options struct {
	// Endpoint of a running emulator; empty starts moto_server.
	Endpoint string
	// Region the twin's resources live in (moto keeps one set per
	// region); empty means awsconfig.DefaultRegion.
	Region   string
	Settings Settings
	// Functions, when set, returns the invokers of the splitter and compute
	// functions (for example binaries under aws-lambda-rie); by default
	// the production handlers run in this process.
	Functions func(p Provisioned) (splitter, compute Invoker, err error)
	// Compute, when set (and Functions is not), returns the invoker of
	// the compute function (a user's function under aws-lambda-rie:
	// ComputeFunction); the splitter runs in this process.
	Compute func(p Provisioned, s Settings) (Invoker, error)
	// Log receives the twin's and the in-process functions' logs (JSON);
	// nil discards them.
	Log io.Writer
	// APIOptions are added to every SDK client the twin and its in-process
	// functions build (fault injection, call counting), except the one that
	// delivers S3 notifications to the splitter (on AWS, S3 invokes the
	// function itself, and the twin's notification queue is its stand-in)
	// and the chunk queue's poller (see Start).
	APIOptions []func(*middleware.Stack) error
	// ReorderNotifications, when above 1, makes the twin's S3 notification
	// delivery hold up to that many notifications (a few seconds at most)
	// and deliver them newest first: S3 does not order notifications, and
	// tests use this to show that results do not depend on their order.
	ReorderNotifications int
	// Weak, when set, makes the twin keep AWS's weak promises where moto
	// keeps strong ones (internal/dev/weak: empty short polls, lagging
	// counts, deletes that do not take, 403 for a missing key, duplicate
	// and late S3 notifications, late asynchronous retries, throttled
	// invocations), for every client but the twin's own view (Idle), which
	// knows what moto holds, and the chunk queue's poller, which is not
	// throttled either: its visibility timeout is 6 x the splitter's 300 s.
	Weak *weak.Config
}

// Twin is a running local pipeline.
type Twin struct {
	Provisioned
	Settings Settings
	Config   aws.Config
	// exact is the twin's own view of moto (Idle): without the weak
	// promises and without Options.APIOptions (an injected fault in the
	// twin's own bookkeeping would model nothing, and failed a wait).
	exact aws.Config
	Stats Stats
	// ChunkStats counts the chunk queue mapping's work.
	ChunkStats Stats
	motos      []*Moto
	weak       *weak.Promises
	proxy      *proxy
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	busy       atomic.Int64
	stopOnce   sync.Once
}

// Start brings up a twin. Stop it with Stop.
func Start(ctx context.Context, o Options) (*Twin, error) {
	t := &Twin{Settings: o.Settings.withDefaults()}
	logw := o.Log
	if logw == nil {
		logw = io.Discard
	}
	log := slog.New(slog.NewJSONHandler(logw, nil)).With("component", "twin")
	endpoint := o.Endpoint
	var routes []route
	if endpoint == "" {
		motos, err := startMotos(ctx, logw)
		t.motos = motos
		if err != nil {
			t.Stop()
			return nil, err
		}
		endpoint = motos[0].URL
		routes = []route{{services: ddbServices, target: motos[1].URL}}
	}
	// Everyone, the AWS CLI included, reaches moto through the proxy.
	proxy, err := startProxy(endpoint, routes...)
	if err != nil {
		t.Stop()
		return nil, err
	}
	t.proxy, endpoint = proxy, proxy.URL
	// cfg adds o.APIOptions to base.
	region := o.Region
	if region == "" {
		region = awsconfig.DefaultRegion
	}
	base, err := awsconfig.Load(ctx, awsconfig.Options{
		Endpoint: endpoint, Region: region, StaticCredentials: true,
	})
	if err != nil {
		t.Stop()
		return nil, err
	}
	cfg := base.Copy()
	cfg.APIOptions = append(append([]func(*middleware.Stack) error(nil), base.APIOptions...), o.APIOptions...)
	t.exact = base.Copy()
	var w *weak.Promises
	if o.Weak != nil {
		w = weak.New(*o.Weak)
		cfg.APIOptions = append(cfg.APIOptions, w.APIOption)
		t.weak = w
	}
	t.Config = cfg
	t.Provisioned, err = Provision(ctx, cfg, t.Settings)
	if err != nil {
		t.Stop()
		return nil, fmt.Errorf("provisioning the twin at %s: %w", endpoint, err)
	}

	var split, comp Invoker
	if o.Functions != nil {
		split, comp, err = o.Functions(t.Provisioned)
		if err != nil {
			t.Stop()
			return nil, err
		}
	} else {
		split = NewInProcess(app.NewSplitter(cfg, app.SplitterEnv{QueueURL: t.QueueURL, Workspace: t.Workspace,
			ChunkQueueURL: t.ChunkQueueURL, ChunkOps: t.Settings.ChunkOps, PackOps: t.Settings.PackOps, OpRules: t.Settings.OpRules, BatchesTable: t.BatchesTable},
			app.Logger(logw, slog.LevelInfo, "splitter"), nil).Invoke)
		if o.Compute != nil {
			comp, err = o.Compute(t.Provisioned, t.Settings)
			if err != nil {
				t.Stop()
				return nil, err
			}
		} else {
			comp = NewInProcess(app.NewCompute(cfg, app.ComputeEnv{Table: t.Table, BatchesTable: t.BatchesTable, Workspace: t.Workspace},
				app.Logger(logw, slog.LevelInfo, "compute"), nil).Handle)
		}
	}

	runCtx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	client := sqs.NewFromConfig(cfg)
	// S3 invokes the splitter itself on AWS: the notification queue is the
	// twin's device, and an injected fault there would model nothing (a
	// lost receive would hide the event for its 900s visibility timeout).
	d := &s3Delivery{sqs: sqs.NewFromConfig(base), s3: awsconfig.S3(base), queueURL: t.NotifyURL, splitter: split, timeout: t.Settings.SplitterTimeout,
		failuresURL: t.SplitFailuresURL, functionARN: "arn:aws:lambda:" + cfg.Region + ":" + t.Account + ":function:" + t.Names.Splitter, log: log, busy: &t.busy,
		reorder: o.ReorderNotifications, weak: w}
	t.wg.Go(func() { d.run(runCtx) })
	api := &lambdaAPI{region: cfg.Region, account: t.Account,
		functions: map[string]func(context.Context, []byte) error{t.Names.Splitter: d.queueInvoke}}
	t.proxy.setFilter("lambda", api.filter)
	esm := &eventSourceMapping{
		sqs: client, queueURL: t.QueueURL, queueARN: t.QueueARN, region: cfg.Region, compute: comp,
		batchSize: t.Settings.BatchSize, window: t.Settings.BatchingWindow, timeout: t.Settings.ComputeTimeout,
		log: log, busy: &t.busy, stats: &t.Stats, weak: w,
	}
	for range t.Settings.Pollers {
		t.wg.Go(func() { esm.poll(runCtx) })
	}
	// The chunk queue's mapping invokes the splitter, one chunk task at a
	// time, as Terraform's aws_lambda_event_source_mapping.chunks does.
	// Its poller (Lambda's own, on AWS) reaches SQS without injected
	// faults and weak promises, as the notification delivery does: a lost
	// receive answer (a "timeout" fault) or a delete that did not take
	// would hide the chunk task for the chunk queue's visibility timeout,
	// 6 x the splitter's 300 s, and the batch would not split for half an
	// hour, longer than any wait on the twin. The ops queue's poller keeps
	// them (its messages come back after 6 x the compute timeout, as on
	// AWS), and the splitter this mapping invokes gets them on its own
	// calls.
	chunks := &eventSourceMapping{
		sqs: sqs.NewFromConfig(base), queueURL: t.ChunkQueueURL, queueARN: t.ChunkQueueARN, region: cfg.Region, compute: split,
		batchSize: DefaultChunkBatchSize, window: 0, timeout: t.Settings.SplitterTimeout,
		log: log, busy: &t.busy, stats: &t.ChunkStats,
	}
	for range t.Settings.ChunkPollers {
		t.wg.Go(func() { chunks.poll(runCtx) })
	}
	return t, nil
}

// ddbServices are the services of the twin's second moto process: those
// that take no part in S3's notifications to SQS. STS is among them so
// that provisioning asks the account while the first process creates the
// queues. (moto answers GetCallerIdentity from its IAM users' access keys,
// else with its default account: the twin's clients' keys are no IAM
// user's, and DynamoDB's requests already found their account there.)
var ddbServices = []string{"dynamodb", "dynamodbstreams", "sts"}

// startMotos starts the twin's two moto processes at once: the first for
// S3, SQS and everything else, the second for DynamoDB (see proxy). On an
// error it returns those that started, for the caller to stop.
func startMotos(ctx context.Context, log io.Writer) ([]*Moto, error) {
	motos := make([]*Moto, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range motos {
		wg.Go(func() { motos[i], errs[i] = StartMoto(ctx, log) })
	}
	wg.Wait()
	var started []*Moto
	for _, m := range motos {
		if m != nil {
			started = append(started, m)
		}
	}
	for _, err := range errs {
		if err != nil {
			return started, err
		}
	}
	return motos, nil
}

// Endpoint is the emulator's URL.
func (t *Twin) Endpoint() string { return t.Provisioned.Endpoint }

// Client returns a workspace client for the twin's pipeline.
func (t *Twin) Client() *workspace.Client { return workspace.New(t.Config, t.Resources) }

// WeakStats counts what the weak promises did (all zero without them).
func (t *Twin) WeakStats() *weak.Stats {
	if t.weak == nil {
		return &weak.Stats{}
	}
	return &t.weak.Stats
}

// Busy reports whether a function invocation is under way.
func (t *Twin) Busy() bool { return t.busy.Load() > 0 }

// Stop ends the pollers and, if the twin started it, moto.
func (t *Twin) Stop() {
	t.stopOnce.Do(func() {
		if t.cancel != nil {
			t.cancel()
			t.wg.Wait()
		}
		if t.proxy != nil {
			t.proxy.Close()
		}
		for _, m := range t.motos {
			m.Stop()
		}
	})
}

// Idle reports whether nothing is left to do: no notification, chunk task or
// op message waiting or in flight, and no invocation running.
func (t *Twin) Idle(ctx context.Context) (bool, error) {
	if t.Busy() {
		return false, nil
	}
	c := workspace.New(t.exact, t.Resources)
	for _, url := range []string{t.NotifyURL, t.ChunkQueueURL, t.QueueURL} {
		v, f, err := c.QueueDepth(ctx, url)
		if err != nil {
			return false, err
		}
		if v+f > 0 {
			return false, nil
		}
	}
	return !t.Busy(), nil
}

// Summary is the lines memo local prints when ready.
func (t *Twin) Summary() string {
	return fmt.Sprintf("endpoint: %s\nbucket: %s\ntable: %s\nqueue: %s\ndlq: %s\n",
		t.Endpoint(), t.Bucket, t.Table, t.QueueURL, t.DLQURL)
}
