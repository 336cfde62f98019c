from hardkuma_allennlp.modules.gate_decoders.gate_decoder import GateDecoder
from hardkuma_allennlp.modules.gate_decoders.paper_decoder import PaperDecoder
from hardkuma_allennlp.modules.gate_decoders.span_decoder import SpanDecoder
from hardkuma_allennlp.modules.gate_decoders.threshold_decoder import ThresholdDecoder
from hardkuma_allennlp.modules.gate_decoders.top_k_decoder import TopKDecoder

__all__ = ["GateDecoder", "PaperDecoder", "SpanDecoder", "ThresholdDecoder", "TopKDecoder"]
