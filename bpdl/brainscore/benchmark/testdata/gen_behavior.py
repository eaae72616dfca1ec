#!/usr/bin/python3
"""Writes behavior.nc: a four-trial behavioural assembly laid out as dicarlo.Rajalingham2018.public is
(one presentation per trial; the data are the chosen objects' names, and coordinates image_id,
sample_obj, dist_obj, choice and truth), written by xarray's to_netcdf as brainio does.

Run with Debian's python3 (python3-xarray, python3-netcdf4) from this directory:

    /usr/bin/python3 gen_behavior.py
"""
import numpy as np
import xarray as xr

choice = np.array(["dog", "car", "dog", "bear"], dtype=object)
da = xr.DataArray(choice, dims=["presentation"], name="choice", coords={
    "image_id": ("presentation", ["a", "a", "b", "b"]),
    "sample_obj": ("presentation", ["dog", "dog", "car", "car"]),
    "dist_obj": ("presentation", ["car", "bear", "dog", "bear"]),
    "choice": ("presentation", choice),
    "truth": ("presentation", ["dog", "dog", "car", "car"]),
})
da.attrs["identifier"] = "test.behavior"
da.attrs["stimulus_set_identifier"] = "test.stimuli"
da.to_netcdf("behavior.nc")
