"""The native block hook (mcusim/native/blockhook.c) is built here as a plain shared library.

It is not a Python module: mcusim.counting loads it with ctypes. Declaring it as an Extension gets
it compiled by `pip install` (editable or wheel) with the platform's usual flags.
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("mcusim._blockhook", ["mcusim/native/blockhook.c"], extra_compile_args=["-O2"])])
