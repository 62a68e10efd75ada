set -u
start=$(date +%s)
el() { echo $(( $(date +%s) - start )); }
M="-Dtwilight4j.estMma=true -Dtwilight4j.questMma=true"
bash .device/run.sh $M io.twilight4j.opencl.FastPathCheck > "$OUT/fastpath-mma.txt" 2>&1
for f in "$OUT"/fastpath-mma*.txt; do echo "$(basename $f): $(grep -c ' ok$' $f) ok, $(grep -c FAIL $f) FAIL"; grep -v WARNING $f | grep -v " ok$" | head -6 | cut -c1-300; done
echo "elapsed $(el) s"
BASE=.device/base12 ROUNDS=1 KNOBS="- -Dtwilight4j.estMma=true -Dtwilight4j.estMma=true,-Dtwilight4j.questMma=true" OUT=$OUT timeout 300 bash bench/gpu/ab-h100.sh "16:32768:8" > /dev/null 2>&1
f=$OUT/ab.txt
grep -E "^== |FAIL|quest_page|select_top|estimate_top_p|attend_partial \[[0-9]* x 128|^quest:8192\+|Exception|rror|tensor-core" $f | cut -c1-180 | sed 's/common.cl+[a-z]*.cl://; s/opencl  [0-9]*x[0-9]*, 32\/[0-9]*, 128//; s/, limit 256, private [0-9]* B//; s/ x 30 launches//; s/== batch //; s/-Dtwilight4j.//g'
echo "ab ok lines: $(grep -c ' ok$' $f); elapsed $(el) s"
