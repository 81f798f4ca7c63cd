/** A uPlot time-series chart: one x axis of times (epoch ms), one line per series. */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series {
  label: string;
  color: string;
  values: (number | null)[];
}

export function Chart({
  title,
  times,
  series,
  testId,
}: {
  title: string;
  times: number[];
  series: Series[];
  testId: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => s.label).join("|");

  useEffect(() => {
    const el = box.current!;
    const opts: uPlot.Options = {
      title,
      width: Math.max(320, el.clientWidth || 600),
      height: 220,
      series: [
        {},
        ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: false } })),
      ],
      axes: [{}, { size: 60 }],
      legend: { live: false },
    };
    const p = new uPlot(opts, [[], ...series.map(() => [])], el);
    plot.current = p;
    const onResize = () => p.setSize({ width: Math.max(320, el.clientWidth || 600), height: 220 });
    addEventListener("resize", onResize);
    return () => {
      removeEventListener("resize", onResize);
      p.destroy();
      plot.current = null;
    };
  }, [shape, title]);

  useEffect(() => {
    plot.current?.setData([times.map((t) => t / 1000), ...series.map((s) => s.values)] as uPlot.AlignedData);
  });

  return <div class="chart" ref={box} data-testid={testId} data-points={times.length} />;
}
