package measure

import (
	"context"
	"testing"
)

// The SDK CPU measurement runs its calls against the stub, each kind
// answered as AWS answers it, and takes some CPU for each.
func TestMeasureSDKCPU(t *testing.T) {
	got, err := MeasureSDKCPU(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if got.SendBatch <= 0 || got.Put <= 0 || got.ScanItem <= 0 {
		t.Errorf("%+v: want CPU for each", got)
	}
	t.Logf("%+v", got)
}
