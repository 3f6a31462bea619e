"""`edgeseg models`: the table, its FLOP counts, and that it needs no onnxruntime."""
import os
import subprocess
import sys

import pytest
import torch
from typer.testing import CliRunner

from edgeseg.cli import app
from edgeseg.flops import count_flops, model_cost
from edgeseg.registry import create_model, list_models, model_info

runner = CliRunner()


def rows(output: str) -> dict[str, list[str]]:
    """Table rows by model name: the cells of each line that starts with a registered name."""
    out = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if cells and cells[0] in list_models():
            out[cells[0]] = cells[1:]
    return out


def test_table_lists_every_model_with_params_flops_and_flags():
    result = runner.invoke(app, ["models", "--input-size", "64x96"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "GFLOPs" in result.output and "64x96" in result.output and "multiply-add" in result.output
    table = rows(result.output)
    assert set(table) == set(list_models())
    for name, (params, gflops, script, onnx, unpool) in table.items():
        info = model_info(name)
        assert [script, onnx, unpool] == ["yes" if f else "no" for f in (info.scriptable, info.onnx, info.needs_unpool)]
        assert float(params) > 0 and (gflops == "n/a" or float(gflops) > 0)
    for name in ("enet", "linknet"):
        n_params, n_flops = model_cost(name, (64, 96))
        assert table[name][:2] == [f"{n_params / 1e6:.2f}", f"{n_flops / 1e9:.1f}"]
    assert table["enet"][4] == "yes" and table["linknet"][4] == "no"


def test_sizes_a_model_cannot_take_have_no_flops():
    assert model_cost("enet", (60, 90))[1] is None  # ENet needs multiples of 8
    assert model_cost("linknet", (60, 90))[1] > 0


def test_no_flops_drops_the_column():
    result = runner.invoke(app, ["models", "--no-flops"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "GFLOPs" not in result.output
    assert len(rows(result.output)["enet"]) == 4


@pytest.mark.parametrize("name", ["enet", "linknet"])
def test_meta_device_flops_equal_a_real_run(name):
    torch.manual_seed(0)
    real = count_flops(create_model(name), (64, 96))
    assert real > 0 and model_cost(name, (64, 96))[1] == real


def test_enet_flops_near_the_paper():
    # Paszke et al. 2016 give 3.83 GFLOPs for ENet at 640x360; convolutions alone come close.
    assert model_cost("enet", (360, 640))[1] / 1e9 == pytest.approx(3.83, rel=0.15)


def test_bad_input_size_is_one_line_exit_2():
    result = runner.invoke(app, ["models", "--input-size", "abc"])
    assert result.exit_code == 2 and "input size must be HxW" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_works_without_onnxruntime():
    code = (
        "import sys; sys.modules['onnxruntime'] = None\n"  # any `import onnxruntime` now raises ImportError
        "sys.argv = ['edgeseg', 'models', '--input-size', '64x96']\n"
        "from edgeseg.cli import main; main()"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    assert set(rows(proc.stdout)) == set(list_models())
