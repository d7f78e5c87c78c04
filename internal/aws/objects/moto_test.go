package objects_test

// The S3 adapter against moto.

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/memohq/memo/internal/aws/awsconfig"
	"github.com/memohq/memo/internal/aws/objects"
	"github.com/memohq/memo/internal/dev/local/localtest"
	"github.com/memohq/memo/internal/dev/weak"
	"github.com/memohq/memo/internal/pipeline/retry"
	"github.com/memohq/memo/internal/pipeline/splitter"
)

// Upload, open by ETag, not found as a permanent error.
func TestObjectsAgainstMoto(t *testing.T) {
	cfg, res := localtest.Provisioned(t, "objects")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store := objects.New(awsconfig.S3(cfg))

	file := filepath.Join(t.TempDir(), "b.json")
	if err := os.WriteFile(file, []byte(`{"ops": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	up, err := store.UploadFile(ctx, res.Bucket, "batches/b.json", file)
	if err != nil || up.ETag == "" {
		t.Fatalf("upload: %+v %v", up, err)
	}
	body, err := store.Open(ctx, splitter.Ref{Bucket: res.Bucket, Key: "batches/b.json", ETag: up.ETag})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(body)
	body.Close()
	if string(b) != `{"ops": []}` {
		t.Fatalf("read back %q", b)
	}
	// A ranged read (a chunk's run): bytes 1..5 of {"ops": []}.
	body, err = store.Open(ctx, splitter.Ref{Bucket: res.Bucket, Key: "batches/b.json", ETag: up.ETag, Offset: 1, Length: 5})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(body)
	body.Close()
	if string(b) != `"ops"` {
		t.Fatalf("range read %q, want %q", b, `"ops"`)
	}
	// List finds the keys under a prefix, and only those.
	for _, k := range []string{"reports/x/done/00000000", "reports/x/done/00000001", "reports/y/done/00000000"} {
		if err := store.Put(ctx, res.Bucket, k, []byte("{}"), "application/json"); err != nil {
			t.Fatal(err)
		}
	}
	if keys, err := store.List(ctx, res.Bucket, "reports/x/done/"); err != nil || len(keys) != 2 {
		t.Fatalf("list: %v %v", keys, err)
	}
	if _, err := store.Open(ctx, splitter.Ref{Bucket: res.Bucket, Key: "batches/none.json"}); !objects.IsNotFound(err) || !retry.IsPermanent(err) {
		t.Fatalf("missing object: %v (want not found, permanent)", err)
	}
}

// Issue 18, point 6: a missing batch object answers 403 to a caller
// without s3:ListBucket on its key (weak.Config.MissingKeyForbidden); the
// splitter must still see it as gone ("batch vanished"), not as an error
// to retry.
func TestMissingObjectForbiddenIsNotFound(t *testing.T) {
	cfg, res := localtest.Provisioned(t, "objects403")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := weak.New(weak.Config{MissingKeyForbidden: true, ListablePrefixes: []string{"reports/"}})
	wcfg := cfg.Copy()
	wcfg.APIOptions = append(wcfg.APIOptions, w.APIOption)
	store := objects.New(awsconfig.S3(wcfg))
	_, err := store.Open(ctx, splitter.Ref{Bucket: res.Bucket, Key: "batches/gone.json", Version: "v1"})
	if !objects.IsNotFound(err) || !retry.IsPermanent(err) {
		t.Fatalf("open of a missing object answered 403: %v, want not found and permanent", err)
	}
	if w.Stats.Forbidden.Load() != 1 {
		t.Fatalf("the 403 knob did not act: %d", w.Stats.Forbidden.Load())
	}
	// Under reports/ (listable), S3 answers 404.
	if _, err := store.Get(ctx, res.Bucket, "reports/gone.json.json"); !objects.IsNotFound(err) {
		t.Fatalf("get of a missing report: %v", err)
	}
}

// Issue 18, point 9: a key with a character XML 1.0 cannot carry lists
// (EncodingType=url), decoded to the key it is.
func TestListKeysWithControlCharacters(t *testing.T) {
	cfg, res := localtest.Provisioned(t, "objectsenc")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store := objects.New(awsconfig.S3(cfg))
	key := "reports/x.plan/v/done/a b+c%d\x01e"
	if err := store.Put(ctx, res.Bucket, key, []byte("x"), "text/plain"); err != nil {
		t.Fatal(err)
	}
	keys, err := store.List(ctx, res.Bucket, "reports/x.plan/")
	if err != nil || len(keys) != 1 || keys[0] != key {
		t.Fatalf("List = %q, %v; want [%q]", keys, err, key)
	}
}
