set -u
BASE=.device/base12 ROUNDS=2 KNOBS="- -Dtwilight4j.estMma=true -Dtwilight4j.estMma=true,-Dtwilight4j.questMma=true -Dtwilight4j.estMma=true,-Dtwilight4j.estMmaUnroll=4" OUT=$OUT timeout 400 bash bench/gpu/ab-h100.sh "16:32768:8" > /dev/null 2>&1
f=$OUT/ab.txt
grep -E "^== |Segm|quest_page|select_top|estimate_top_p|attend_partial \[[0-9]* x 128|^quest:8192\+|Exception|rror|tensor-core" $f | cut -c1-180 | sed 's/common.cl+[a-z]*.cl://; s/opencl  [0-9]*x[0-9]*, 32\/[0-9]*, 128//; s/, limit 256, private [0-9]* B//; s/ x 30 launches//; s/== batch //; s/-Dtwilight4j.//g; s/ ctx 32768 hkv 8//; s/914.5\/191\/3137  2.10e-01//'
echo "ok lines: $(grep -c ' ok$' $f)"; ls $OUT
