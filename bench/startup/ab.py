import random, subprocess, time, statistics, sys
A,B=sys.argv[1],sys.argv[2]; n=int(sys.argv[3])
cases={"/bin/true":["/bin/true"],"nproc":["nproc"],
 "base --version":[A,"--version"],"new --version":[B,"--version"],
 "base run true":[A,"run","--","/bin/true"],"new run true":[B,"run","--","/bin/true"],
 "sleep 0.02":["sleep","0.02"],
 "base run sleep":[A,"run","--","sleep","0.02"],"new run sleep":[B,"run","--","sleep","0.02"],
 "base probe":[A,"probe"],"new probe":[B,"probe"]}
t={k:[] for k in cases}
# A new random order each round: a fixed order biases whichever case follows
# `sleep` (an idle CPU wakes up slower) by a few tenths of a millisecond.
rng=random.Random(12); order=list(cases.items())
for i in range(n):
    rng.shuffle(order)
    for k,a in order:
        s=time.perf_counter(); subprocess.run(a,stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL); t[k].append((time.perf_counter()-s)*1000)
for k in cases: print(f"{k:16s} median {statistics.median(t[k]):7.2f} ms")
