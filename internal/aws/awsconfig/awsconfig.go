// Package awsconfig loads the AWS SDK configuration the same way for the
// Lambdas, the memo command and the twin: the SDK's default chain (which
// honours AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>, AWS_REGION,
// AWS_PROFILE), plus path-style S3 addressing whenever an endpoint is
// overridden (emulators such as moto serve no virtual-host buckets).
package awsconfig

import (
	"context"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsretry "github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"

	"github.com/memohq/memo/internal/pipeline/retry"
)

// Options adjust Load.
type Options struct {
	// Endpoint overrides every service's endpoint (an emulator's URL).
	Endpoint string
	// Region overrides the chain's region.
	Region string
	// Profile selects a shared-config profile.
	Profile string
	// Static credentials, for an emulator that does not check them.
	StaticCredentials bool
	// Middleware is added to every client built from the config (the
	// fault injector and the call counter use it).
	APIOptions []func(*middleware.Stack) error
}

// DefaultRegion is used when nothing else names one.
const DefaultRegion = "us-east-1"

// Load returns the SDK configuration.
func Load(ctx context.Context, o Options) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	if o.Endpoint != "" {
		opts = append(opts, config.WithBaseEndpoint(o.Endpoint))
	}
	if o.StaticCredentials {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	}
	// The SDK logs its own warnings (an IMDS fallback, a missing response
	// checksum) to stderr; memo reports errors itself.
	opts = append(opts, config.WithLogger(logging.Nop{}))
	// The SDK's layer of retries, as internal/pipeline/retry sets it (that
	// package says what each layer retries and the worst case of both).
	opts = append(opts, config.WithRetryer(NewRetryer))
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, err
	}
	if o.Endpoint != "" || os.Getenv("AWS_ENDPOINT_URL") != "" {
		// Emulators do not send response checksums; validating only where
		// the API requires it avoids a warning on every GET.
		cfg.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		cfg.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	cfg.APIOptions = append(cfg.APIOptions, o.APIOptions...)
	return cfg, nil
}

// NewRetryer returns the SDK's standard retryer with retry.SDK's attempts
// and backoff cap. Its other settings (which errors it retries, its retry
// quota) are the SDK's defaults.
func NewRetryer() aws.Retryer {
	return awsretry.NewStandard(func(o *awsretry.StandardOptions) {
		o.MaxAttempts = retry.SDK.Attempts
		o.MaxBackoff = retry.SDK.MaxBackoff
	})
}

// EndpointOverridden reports whether S3 will be reached at a custom endpoint.
func EndpointOverridden(cfg aws.Config) bool {
	return cfg.BaseEndpoint != nil || os.Getenv("AWS_ENDPOINT_URL") != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
}

// S3 returns an S3 client for cfg, path-style when the endpoint is custom.
func S3(cfg aws.Config) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if EndpointOverridden(cfg) {
			o.UsePathStyle = true
		}
	})
}
