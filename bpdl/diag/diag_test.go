package diag

import "testing"

func TestName(t *testing.T) {
	for _, tc := range []struct {
		m           Metric
		label, name string
	}{
		{Metric{Kind: Loss}, "", "probe_loss"},
		{Metric{Kind: Accuracy}, "", "probe_accuracy"},
		{Metric{Kind: Angle, Layer: 1}, "W1", "angle_W1"},
		{Metric{Kind: Spikes, Layer: 0}, "input", "spikes_input"},
		{Metric{Kind: SpikeRate, Layer: 2}, "hidden2", "spike_rate_hidden2"},
		{Metric{Kind: Reconstruction, Layer: 3}, "l3", "recon_loss_l3"},
	} {
		if got := tc.m.Label(); got != tc.label {
			t.Errorf("%+v.Label() = %q, want %q", tc.m, got, tc.label)
		}
		if got := tc.m.Name(); got != tc.name {
			t.Errorf("%+v.Name() = %q, want %q", tc.m, got, tc.name)
		}
	}
}
