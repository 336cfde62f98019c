from setuptools import find_packages, setup

setup(
    name="hardkuma-allennlp",
    version="0.1.0",
    description=(
        "HardKuma rationale models for AllenNLP (Bastings, Aziz & Titov, ACL 2019): "
        "interpretable predictions with differentiable binary variables."
    ),
    long_description=open("README.md").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    packages=find_packages(exclude=["tests", "tests.*"]),
    python_requires=">=3.10",
    # allennlp 2.10.1 pins torch<1.13 in its own metadata: install with scripts/install.sh, which
    # installs these with --no-deps and their runtime dependencies from requirements.txt.
    install_requires=["allennlp==2.10.1", "allennlp-models==2.10.1"],
)
