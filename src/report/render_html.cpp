// The HTML timeline: one self-contained page. The data is embedded as JSON
// (the corral.report/2 summary) and an inline script draws SVG from it, so
// the page needs no network and no other file. A static table below the
// charts carries the same facts for readers without scripts.
#include <sstream>

#include "common/text.hpp"
#include "report/render.hpp"

namespace corral::report {
namespace {

// JSON inside <script>: "</" cannot appear (it could close the element).
std::string script_safe(const std::string& json) {
    std::string out;
    for (size_t i = 0; i < json.size(); ++i) {
        if (json[i] == '<' && i + 1 < json.size() && json[i + 1] == '/') {
            out += "<\\/";
            ++i;
        } else {
            out += json[i];
        }
    }
    return out;
}

constexpr const char* kStyle = R"CSS(
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}
h1{font-size:1.3em;margin:0 0 .2em} .sub{color:#666;margin:0 0 1em}
.counts span{display:inline-block;margin-right:1.2em} svg{display:block;margin:.5em 0 1.5em}
.bar{stroke:#fff;stroke-width:.5} .bar:hover{stroke:#000;stroke-width:1.5}
.passed{fill:#3a9d5d;background:#3a9d5d} .failed,.signalled,.not-found,.launcher-failed{fill:#d64545;background:#d64545}
.timed-out{fill:#9b59b6;background:#9b59b6} .oom-killed{fill:#e67e22;background:#e67e22} .leaked{fill:#e0b000;background:#e0b000}
.leakmark{fill:none;stroke:#e0b000;stroke-width:2}
.axis{stroke:#999;stroke-width:1} .tick{font-size:11px;fill:#666} .lbl{font-size:11px;fill:#fff;pointer-events:none}
.peak{fill:none;stroke:#2c7be5;stroke-width:2} .granted{fill:none;stroke:#888;stroke-width:1.5;stroke-dasharray:4 3}
.budget{stroke:#d64545;stroke-width:1.5;stroke-dasharray:8 4}
table{border-collapse:collapse} td,th{padding:2px 10px;text-align:left;border-bottom:1px solid #eee}
td.n{text-align:right} .legend span{margin-right:1em} .sw{display:inline-block;width:12px;height:12px;vertical-align:middle;margin-right:4px}
)CSS";

constexpr const char* kScript = R"JS(
(function(){
var d=JSON.parse(document.getElementById('corral-data').textContent);
var NS='http://www.w3.org/2000/svg';
function el(n,a,p){var e=document.createElementNS(NS,n);for(var k in a)e.setAttribute(k,a[k]);if(p)p.appendChild(e);return e;}
function secs(s){return s<1?Math.round(s*1000)+' ms':s<60?s.toFixed(1)+' s':Math.floor(s/60)+' min '+Math.round(s%60)+' s';}
function bytes(b){var u=['B','KiB','MiB','GiB','TiB'],i=0;while(b>=1024&&i<4){b/=1024;i++;}return (i?b.toFixed(1):b)+' '+u[i];}
function cls(o){return o.toLowerCase().replace(/ /g,'-');}
var W=1000,L=150,R=20,span=Math.max(d.makespan_seconds,1e-3),lanes=1;
d.tests.forEach(function(t){lanes=Math.max(lanes,t.lane+1);});
var LH=22,H=lanes*LH+30,x=function(t){return L+(W-L-R)*t/span;};
var tl=el('svg',{id:'timeline',viewBox:'0 0 '+W+' '+H,width:'100%'},document.getElementById('timeline-box'));
for(var i=0;i<lanes;i++)el('text',{x:L-8,y:i*LH+15,'text-anchor':'end','class':'tick'},tl).textContent='lane '+(i+1);
for(var k=0;k<=5;k++){var tx=x(span*k/5);el('line',{x1:tx,x2:tx,y1:0,y2:lanes*LH,'class':'axis','stroke-opacity':.3},tl);
 el('text',{x:tx,y:lanes*LH+16,'text-anchor':'middle','class':'tick'},tl).textContent=secs(span*k/5);}
d.tests.forEach(function(t,i){
 var x0=x(t.start_seconds),w=Math.max(x(t.start_seconds+t.wall_seconds)-x0,2),y=t.lane*LH+2;
 var r=el('rect',{id:'bar-'+i,'class':'bar '+cls(t.outcome),x:x0,y:y,width:w,height:LH-4,rx:3,'data-test':t.name},tl);
 var tip=t.name+'\n'+t.outcome+': '+t.what_happened+'\nstart +'+secs(t.start_seconds)+', '+secs(t.wall_seconds)+
  ' wall, '+secs(t.cpu_seconds)+' CPU\npeak memory '+bytes(t.peak_memory_bytes)+
  (t.memory_limit_bytes!==null?', limit '+bytes(t.memory_limit_bytes):'')+
  (t.granted_memory_bytes!==null?', granted '+bytes(t.granted_memory_bytes):'')+
  (t.lock_wait_seconds>0?'\nwaited '+secs(t.lock_wait_seconds)+' for locks/slots':'');
 el('title',{},r).textContent=tip;
 if(t.leaked.length&&t.outcome!=='leaked')el('rect',{'class':'leakmark',x:x0,y:y,width:w,height:LH-4,rx:3},tl);
 if(w>60){var lb=el('text',{x:x0+4,y:y+13,'class':'lbl'},tl);lb.textContent=t.name.length>w/7?t.name.slice(0,Math.floor(w/7)-1)+'…':t.name;}
});
var MH=180,top=Math.max(d.memory_peak_sum_bytes,d.memory_budget_bytes||0,1)*1.1;
var mem=el('svg',{id:'memory',viewBox:'0 0 '+W+' '+(MH+30),width:'100%'},document.getElementById('memory-box'));
var y=function(b){return MH-(MH-12)*b/top;};
el('line',{x1:L,x2:W-R,y1:MH,y2:MH,'class':'axis'},mem);
for(var k=0;k<=4;k++)el('text',{x:L-8,y:y(top*k/4)+4,'text-anchor':'end','class':'tick'},mem).textContent=bytes(Math.round(top*k/4));
function steps(key){var p='',prev=0;d.memory.forEach(function(m){p+=x(m.t)+','+y(prev)+' '+x(m.t)+','+y(m[key])+' ';prev=m[key];});return p+x(span)+','+y(prev);}
el('polyline',{points:steps('peak_sum'),'class':'peak'},mem);
el('polyline',{points:steps('granted_sum'),'class':'granted'},mem);
if(d.memory_budget_bytes!==null){el('line',{x1:L,x2:W-R,y1:y(d.memory_budget_bytes),y2:y(d.memory_budget_bytes),'class':'budget'},mem);
 el('text',{x:W-R,y:y(d.memory_budget_bytes)-4,'text-anchor':'end','class':'tick'},mem).textContent='budget '+bytes(d.memory_budget_bytes);}
document.body.setAttribute('data-bars',String(d.tests.length));
})();
)JS";

}  // namespace

std::string render_html(const Summary& s) {
    auto j = render_json(s);
    auto mem = nlohmann::json::array();
    for (const auto& m : s.memory)
        mem.push_back({{"t", m.t}, {"peak_sum", m.peak_sum}, {"granted_sum", m.granted_sum}});
    j["memory"] = mem;

    std::ostringstream h;
    h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      << "<meta name=\"viewport\" content=\"width=device-width\">\n"
      << "<title>" << xml_escape("corral report: " + s.label) << "</title>\n"
      << "<style>" << kStyle << "</style></head><body>\n";
    h << "<h1>corral report: " << s.tests.size() << " tests, " << (s.passed ? "passed" : "FAILED")
      << "</h1>\n";
    h << "<p class=\"sub\">run " << xml_escape(s.label) << " · makespan "
      << human_seconds(s.makespan) << ", lower bound " << human_seconds(s.lower_bound) << " · "
      << s.slots << " slots " << static_cast<int>(s.busy * 100 + 0.5)
      << " % busy</p>\n<p class=\"counts\">";
    // The counts of docs/report.md "Counts", as the text and JSON have them.
    h << "<span id=\"count-passed\"><i class=\"sw passed\"></i>passed " << s.passed_count
      << "</span><span id=\"count-failed\"><i class=\"sw failed\"></i>failed " << s.failed_count
      << (s.failed_count > 0 ? " (" + failed_breakdown(s) + ")" : "")
      << "</span><span id=\"count-leaked\"><i class=\"sw leaked\"></i>leaked " << s.leaking
      << "</span>";
    h << "</p>\n";
    h << "<h2>Timeline</h2><p class=\"sub\">one bar per test on its lane; hover for details; "
         "a yellow outline marks a test that leaked</p>\n<div id=\"timeline-box\"></div>\n";
    h << "<h2>Memory</h2><p class=\"legend sub\"><span style=\"color:#2c7be5\">━ peaks of the "
         "running tests</span><span style=\"color:#888\">┅ granted (mem_mib)</span>"
      << (s.memory_budget ? "<span style=\"color:#d64545\">┅ budget</span>" : "")
      << "</p>\n<div id=\"memory-box\"></div>\n";
    h << "<h2>Tests</h2>\n<table><tr><th>test</th><th>outcome</th><th>time</th><th>peak "
         "memory</th><th>what happened</th></tr>\n";
    for (const auto& t : s.tests)
        h << "<tr><td>" << xml_escape(t.name) << "</td><td>" << outcome_name(t.outcome)
          << "</td><td class=\"n\">" << human_seconds(t.end - t.start) << "</td><td class=\"n\">"
          << human_bytes(t.peak_memory_bytes) << "</td><td>" << xml_escape(what_happened(t))
          << "</td></tr>\n";
    h << "</table>\n";
    h << "<script type=\"application/json\" id=\"corral-data\">" << script_safe(j.dump())
      << "</script>\n<script>" << kScript << "</script>\n</body></html>\n";
    return h.str();
}

}  // namespace corral::report
