// Package brainio reads the data formats of BrainIO, the data layer of Brain-Score: neural and
// behavioural "assemblies" (labelled N-dimensional arrays stored as netCDF-4 files) and "stimulus sets"
// (a CSV table of stimuli plus a ZIP archive of the image files), and knows where Brain-Score's public
// storage keeps the files of the benchmarks this project reproduces.
//
// Assemblies are read by a pure-Go reader of the netCDF-4/HDF5 subset that brainio's writer (xarray's
// to_netcdf through netCDF-C or h5netcdf) produces; see ReadAssembly. No cgo and no HDF5 library are
// needed.
//
// The layout brainio writes: each dimension is an HDF5 dimension scale; the data is one variable over
// those dimensions; every coordinate is a one-dimensional variable along one dimension (xarray's
// MultiIndex levels, such as presentation's stimulus_id and repetition, are reset to plain coordinates
// before writing), named in the data variable's "coordinates" attribute. Assembly attributes such as
// identifier and stimulus_set_identifier are stored on the data variable or, when brainio compresses the
// file, promoted to global attributes.
package brainio
