// Command splitter is the splitter Lambda: S3 ObjectCreated events for
// batches/ files (every format of batch's table) in (each planned into
// chunks), chunk
// tasks from the chunk queue's event source mapping in (each enqueued), ops
// on the SQS queue and a plan and a report under reports/ out. It only
// wires: configuration from the environment, clients built once, then
// lambda.Start.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/memohq/memo/internal/aws/app"
	"github.com/memohq/memo/internal/aws/awsconfig"
)

func main() {
	env, err := app.SplitterFromEnv(os.Getenv)
	logger := app.Logger(os.Stdout, env.LogLevel, "splitter")
	if err != nil {
		logger.Error("bad configuration", "error", err)
		os.Exit(1)
	}
	cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{})
	if err != nil {
		logger.Error("loading AWS configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(app.NewSplitter(cfg, env, logger, os.Stdout).Invoke)
}
