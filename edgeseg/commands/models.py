"""List the registered models: parameters, GFLOPs at an input size, and what each can be exported to."""
from __future__ import annotations

import typer


def main(
    input_size: str = typer.Option("512x1024", help="HxW at which FLOPs are counted."),
    flops: bool = typer.Option(True, help="Count FLOPs (shapes only, on the meta device)."),
) -> None:
    from rich.console import Console
    from rich.table import Table

    from edgeseg.export import parse_input_size
    from edgeseg.flops import model_cost
    from edgeseg.registry import list_models, model_info

    h, w = parse_input_size(input_size)
    caption = (
        "GFLOPs: 2 per multiply-add of convolutions and matrix products, batch 1; "
        "n/a: size not a multiple of the model's size divisor. "
        "unpool plugin: TensorRT needs the max-unpool plugin, or an export with --unpool decomposed."
    )
    table = Table(title="edgeseg models", caption=caption if flops else None)
    table.add_column("model", no_wrap=True)
    table.add_column("params (M)", justify="right")
    if flops:
        table.add_column(f"GFLOPs\n{h}x{w}", justify="right")
    for flag in ("script-\nable", "ONNX", "unpool\nplugin"):
        table.add_column(flag, justify="center")
    for name in list_models():
        info = model_info(name)
        params, n_flops = model_cost(name, (h, w) if flops else None)
        row = [name, f"{params / 1e6:.2f}"]
        if flops:
            row.append("n/a" if n_flops is None else f"{n_flops / 1e9:.1f}")
        row += ["yes" if flag else "no" for flag in (info.scriptable, info.onnx, info.needs_unpool)]
        table.add_row(*row)
    Console().print(table)
