from typing import List

import spacy
from allennlp.data.tokenizers import Token, Tokenizer


@Tokenizer.register("spacy_blank")
class BlankSpacyTokenizer(Tokenizer):
    """
    Splits text with spaCy's rule-based tokenizer for a language (`spacy.blank`), which needs no
    model download, unlike AllenNLP's `spacy` tokenizer (it loads `en_core_web_sm` and downloads it
    when missing). No tags, lemmas or entities are produced.

    Registered as a `Tokenizer` with name "spacy_blank".

    # Parameters

    language : `str`, optional (default = `"en"`)
        A language code that `spacy.blank` knows.
    lowercase : `bool`, optional (default = `False`)
        Lowercase every token (e.g. for lowercased GloVe vectors).
    """

    def __init__(self, language: str = "en", lowercase: bool = False) -> None:
        self._nlp = spacy.blank(language)
        self._lowercase = lowercase

    def tokenize(self, text: str) -> List[Token]:
        return [
            Token(t.lower_ if self._lowercase else t.text, idx=t.idx)
            for t in self._nlp.tokenizer(text)
            if not t.is_space
        ]
