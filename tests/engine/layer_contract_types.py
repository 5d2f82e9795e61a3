from dataclasses import dataclass, field


@dataclass
class LayerCase:
    type_id: str
    config: dict
    in_shapes: list
    out_shape: tuple
    batch: int = 3
    train: bool = True
    int_inputs: bool = False   # integer token inputs (Embedding): no input gradient
    int_high: int = 5
    input_free: bool = False   # Input layer: no gradient check
    rtol: float = 1e-4
    max_coords: int = 25
    extra: dict = field(default_factory=dict)
