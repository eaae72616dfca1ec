package snn

// The loops that the simulation spends its time in, on rows of float32 values. Every kernel here has a
// portable version (the functions below, ending in Go) and, when the program is built with
// GOEXPERIMENT=simd on amd64, a vectorised version with the same results up to float32 rounding
// (kernels_simd.go); kernels_dispatch*.go choose.

// addToGo adds src to dst: dst[n] += src[n].
func addToGo(dst, src []float32) {
	src = src[:len(dst)]
	for n := range dst {
		dst[n] += src[n]
	}
}

// addRowsGo adds to dst the slices w[j*stride+lo : j*stride+lo+len(dst)] of the rows j listed in idx,
// in order: the input current that the spikes idx bring to the units [lo, lo+len(dst)).
func addRowsGo(dst, w []float32, stride, lo int, idx []int32) {
	for _, j := range idx {
		off := int(j)*stride + lo
		addToGo(dst, w[off:off+len(dst)])
	}
}

// addToRowsGo adds src to the slices w[j*stride+lo : j*stride+lo+len(src)] of the rows j listed in idx:
// the weight gradients of the synapses from the units idx.
func addToRowsGo(w []float32, stride, lo int, idx []int32, src []float32) {
	for _, j := range idx {
		off := int(j)*stride + lo
		addToGo(w[off:off+len(src)], src)
	}
}

// lifForwardGo advances a row of LIF neurons by one step (LIF.Step): v and i are the state, updated in
// place; cur is the input current; vd receives the membrane potential before the reset, v', from which
// the spikes are z = H(v' - VTh).
func lifForwardGo(c lifCoef, v, i, cur, vd []float32) {
	i, cur, vd = i[:len(v)], cur[:len(v)], vd[:len(v)]
	for n := range v {
		d := c.decayV(v[n], i[n])
		vd[n] = d
		i[n] = c.decayI(i[n]) + cur[n]
		if d > c.vth {
			v[n] = c.vreset
		} else {
			v[n] = d
		}
	}
}

// lifBackwardGo takes a row of LIF neurons one step back in time. Given the potentials before the reset
// v' (vd) at step t, the gradients gv = dL/dv(t) and gi = dL/di(t) of the state after step t and the
// gradient gz = dL/dz(t) of the spikes at step t, it sets gv and gi to the gradients of the state after
// step t-1:
//
//	g' = (1 - z) gv + (gz + gv (VReset - v')) s(v' - VTh)    dL/dv', with the surrogate s = dz/dv'
//	gv <- (1 - am) g'
//	gi <- am g' + (1 - as) gi
//
// with am = DT*TauMemInv and as = DT*TauSynInv. (dL/d input(t) is gi before the call.)
func lifBackwardGo(c lifCoef, vd, gz, gv, gi []float32) {
	vd, gz, gi = vd[:len(gv)], gz[:len(gv)], gi[:len(gv)]
	om, os := 1-c.am, 1-c.as
	for n := range gv {
		x := vd[n] - c.vth
		g := gv[n]
		gd := (gz[n] + g*(c.vreset-vd[n])) * surrogate(c.alpha, x)
		if x <= 0 {
			gd += g
		}
		gv[n] = om * gd
		gi[n] = c.am*gd + os*gi[n]
	}
}

// liForwardGo advances a row of leaky integrators by one step (LI.Step); out receives the new potential.
func liForwardGo(c liCoef, v, i, cur, out []float32) {
	i, cur, out = i[:len(v)], cur[:len(v)], out[:len(v)]
	for n := range v {
		d := c.decayV(v[n], i[n])
		out[n] = d
		v[n] = d
		i[n] = c.decayI(i[n]) + cur[n]
	}
}

// liBackwardGo takes a row of leaky integrators one step back in time: with gout = dL/dout(t) the gradient
// of the output at step t,
//
//	g' = gv + gout;  gv <- (1 - am) g';  gi <- am g' + (1 - as) gi.
func liBackwardGo(c liCoef, gout, gv, gi []float32) {
	gout, gi = gout[:len(gv)], gi[:len(gv)]
	om, os := 1-c.am, 1-c.as
	for n := range gv {
		g := gv[n] + gout[n]
		gv[n] = om * g
		gi[n] = c.am*g + os*gi[n]
	}
}

// mulRowsGo sets dst[r*ldd + j] = sum_q a[r*k + q] b[q*ldb + j] for rows r < m and columns j in
// [jlo, jhi): rows of a [m, k] times columns jlo..jhi-1 of b [k, ldb]. Each element is summed over q in
// increasing order.
func mulRowsGo(dst []float32, ldd int, a []float32, m, k int, b []float32, ldb, jlo, jhi int) {
	for r := 0; r < m; r++ {
		d := dst[r*ldd+jlo : r*ldd+jhi]
		clear(d)
		for q, s := range a[r*k : (r+1)*k] {
			br := b[q*ldb+jlo : q*ldb+jhi]
			for j := range d {
				d[j] += s * br[j]
			}
		}
	}
}

// spikesAboveGo appends offset+n to dst for every n with vd[n] > vth, in increasing order.
func spikesAboveGo(dst []int32, vd []float32, vth float32, offset int32) []int32 {
	for n, v := range vd {
		if v > vth {
			dst = append(dst, offset+int32(n))
		}
	}
	return dst
}
