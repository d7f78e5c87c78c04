// Command sleeper is a Lambda function for the twin's tests of
// aws-lambda-rie: it sleeps for the event's "sleep" (a Go duration) and
// answers "slept".
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	Sleep string `json:"sleep"`
}

func main() {
	lambda.Start(func(ctx context.Context, e event) (string, error) {
		d, err := time.ParseDuration(e.Sleep)
		if err != nil {
			return "", err
		}
		time.Sleep(d)
		return "slept", nil
	})
}
