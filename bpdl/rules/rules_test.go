package rules

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestSettingsJSON checks that Settings survive JSON for every rule, and that the encoding is the one
// the settings had when the optimiser was a single Config struct (so run fingerprints are unchanged).
func TestSettingsJSON(t *testing.T) {
	for _, name := range Names() {
		r, _ := New(name)
		s := DefaultsOf(r)
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back Settings
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v (%s)", name, err, b)
		}
		if !reflect.DeepEqual(back, s) {
			t.Errorf("%s: %+v came back as %+v", name, s, back)
		}
	}
	b, _ := json.Marshal(Study())
	const want = `{"Optimizer":{"Kind":"sgd","LR":0.001,"Momentum":0.9,"Beta1":0,"Beta2":0,"Eps":0,"Clip":2},"Batch":4,"Epochs":25,"PretrainEpochs":0}`
	if string(b) != want {
		t.Errorf("Study() encodes as %s, want %s", b, want)
	}
	var s Settings
	if err := json.Unmarshal([]byte(`{"Optimizer":{"Kind":"rmsprop","LR":1}}`), &s); err == nil {
		t.Error("an unknown optimiser decoded")
	}
}
