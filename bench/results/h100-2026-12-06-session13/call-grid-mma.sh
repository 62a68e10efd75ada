set -u
start=$(date +%s)
el() { echo $(( $(date +%s) - start )); }
JAVA_OPTS="-Dtwilight4j.estMma=true -Dtwilight4j.questMma=true" PEER_HKV=8 OUT=$OUT/grid timeout 300 bash bench/gpu/run-h100.sh "16:32768:8 16:131072:8" > /dev/null 2>&1
python3 bench/gpu/summarize.py $OUT/grid > $OUT/grid/summary.md 2>&1; head -30 $OUT/grid/summary.md
echo "FastPathCheck ok: $(grep -c ' ok$' $OUT/grid/devices.txt)"
grep -h "tensor-core" $OUT/grid/*.txt | head -3
ls $OUT/grid | grep hs_err || true
echo "elapsed total: $(el) s"
