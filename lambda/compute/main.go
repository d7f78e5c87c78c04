// Command compute is the compute Lambda: batches of SQS messages in, one
// result per op in DynamoDB out, and a partial batch response listing only
// the messages to retry. It only wires: configuration from the environment,
// clients built once, then lambda.Start.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/memohq/memo/internal/aws/app"
	"github.com/memohq/memo/internal/aws/awsconfig"
)

func main() {
	env, err := app.ComputeFromEnv(os.Getenv)
	logger := app.Logger(os.Stdout, env.LogLevel, "compute")
	if err != nil {
		logger.Error("bad configuration", "error", err)
		os.Exit(1)
	}
	cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{})
	if err != nil {
		logger.Error("loading AWS configuration", "error", err)
		os.Exit(1)
	}
	lambda.Start(app.NewCompute(cfg, env, logger, os.Stdout).Handle)
}
