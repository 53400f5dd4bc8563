#!/bin/sh
echo "tool says $1"
