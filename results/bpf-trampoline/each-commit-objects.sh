#!/bin/bash
# build the objects patches 30-36 touch, at each commit, on x86_64, arm64, i386
cd /tmp/wt-each
out=/tmp/each-results.txt; : > $out
for c in $(git -C ~/.cache/rethook-series/dev rev-list --reverse 960a5e41f..fgraph-v2); do
  git checkout -q --detach $c
  s=$(git log -1 --format=%s)
  for a in x86 arm i386; do
    case $a in
      x86) args="CC=ccache\ gcc"; objs="kernel/bpf/trampoline.o arch/x86/net/bpf_jit_comp.o kernel/bpf/core.o";;
      arm) args="ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-"; objs="kernel/bpf/trampoline.o arch/arm64/net/bpf_jit_comp.o kernel/bpf/core.o";;
      i386) args="ARCH=i386"; objs="kernel/bpf/trampoline.o arch/x86/net/bpf_jit_comp32.o kernel/bpf/core.o";;
    esac
    eval make -s O=/tmp/e-$a $args olddefconfig >/dev/null 2>&1
    log=/tmp/each-$a-$(git rev-parse --short $c).log
    if eval make -s O=/tmp/e-$a $args -j1 W=1 $objs > $log 2>&1; then
      w=$(grep -c "warning:" $log); echo "$a ok (W=1 warnings: $w) $s" >> $out
    else
      echo "$a FAIL $s ($log)" >> $out
    fi
  done
done
echo done >> $out
