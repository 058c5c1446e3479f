"""``--arch seed_ensemble``: K seeds of one learner trained together in one ``fairseq-train``.

    fairseq-train DATA --user-dir seq_plugins --task transduction --arch seed_ensemble \\
        --ensemble-arch transformer --ensemble-seeds 1-16 --clip-norm 25 <the base arch's flags>

Seed s's model is built right after seeding torch with s, as fairseq-train does, so its initial weights are those of
a single run with ``--seed s``. The K models' parameters are stacked along a leading seed axis and one vmapped call
runs all of them; the task sums the per-seed losses (each seed's gradient is its own), clips each seed's gradient
norm at ``--clip-norm`` (it takes the value from fairseq's trainer, which would clip the norm over all seeds) and logs
every seed's loss. Adam's state is elementwise, hence per seed. Dropout masks come from one generator per seed,
seeded like a single run's (seq_plugins/modules/seed_dropout.py): on the CPU every seed follows its single run's
trajectory up to floating-point summation order. ``python -m tools.split_ensemble`` writes one ordinary checkpoint
per seed.
"""
import argparse
import sys

import torch
from fairseq import utils
from fairseq.models import ARCH_CONFIG_REGISTRY, ARCH_MODEL_REGISTRY, BaseFairseqModel, register_model, \
    register_model_architecture
from fairseq.modules import FairseqDropout
from torch.func import functional_call, vmap

from seq_cli import UsageError, parse_int_ranges
from seq_plugins.modules.seed_dropout import SeedDropout
from seq_plugins.modules.stackable import make_stackable, stackable_modules

# stacked as the stock module they are built from: fast_lstm's hand-written decoder backward (a custom autograd
# function) does not batch, and the parameters, their names and initialization are stock lstm's
STACKED_AS = {"fast_lstm": "lstm"}
MAX_SEEDS = 4096
PER_SEED = "per_seed"  # a sample's key: true when it holds one batch per seed (seed_ensemble_steps.stack_samples)


def parse_seeds(text):
    """'1-16' or '1,3,5-8' -> sorted distinct seeds; anything else is a one-line error."""
    if not text or not str(text).strip():
        raise UsageError("--ensemble-seeds is empty: give seeds like 1-16 or 1,3,5")
    seeds = parse_int_ranges(str(text), "--ensemble-seeds", minimum=0)
    if len(seeds) > MAX_SEEDS:
        raise UsageError(f"--ensemble-seeds: {len(seeds)} seeds, at most {MAX_SEEDS} in one process")
    return seeds


def requested_base_arch(argv):
    """--ensemble-arch from the command line: fairseq asks the model for its flags before parsing them."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--ensemble-arch")
    return parser.parse_known_args(argv)[0].ensemble_arch


def stacked_name(name):
    return name.replace(".", "__")


@register_model("seed_ensemble")
class SeedEnsembleModel(BaseFairseqModel):
    @staticmethod
    def add_args(parser):
        parser.add_argument("--ensemble-arch", metavar="ARCH", help="the learner every seed trains (e.g. transformer)")
        parser.add_argument("--ensemble-seeds", metavar="RANGES", help="the seeds trained together, e.g. 1-16")
        base = requested_base_arch(sys.argv[1:])
        if base in ARCH_MODEL_REGISTRY:
            ARCH_MODEL_REGISTRY[base].add_args(parser)

    def __init__(self, args, models):
        super().__init__()
        self.args = args
        self.seeds = parse_seeds(args.ensemble_seeds)
        self.clip_norm = 0.0  # per seed; set by the task (seed_ensemble_steps.py) from --clip-norm
        template = make_stackable(models[0])
        self.names = [name for name, _ in template.named_parameters()]
        clash = next((name for name in self.names if "__" in name), None)
        if clash:  # stacked names replace "." by "__"; tools.split_ensemble turns them back
            raise UsageError(f"--ensemble-arch {args.ensemble_arch}: parameter {clash} has '__' in its name, "
                             "so its seeds cannot be stacked")
        saved = template.state_dict().keys()  # non-persistent buffers (sinusoidal positions) stay the template's
        self.buffer_names = [name for name, _ in template.named_buffers() if name in saved]
        self.stacked = torch.nn.Module()
        for name in self.names:
            stack = torch.stack([dict(m.named_parameters())[name].detach() for m in models])
            self.stacked.register_parameter(stacked_name(name), torch.nn.Parameter(stack))
        for name in self.buffer_names:
            self.stacked.register_buffer(stacked_name(name), torch.stack([dict(m.named_buffers())[name] for m in models]))
        self.generators = [torch.Generator() for _ in self.seeds]
        for name, module in list(template.named_modules()):
            for child_name, child in list(module.named_children()):
                if isinstance(child, FairseqDropout):
                    setattr(module, child_name, SeedDropout(child, self.generators))
        self.__dict__["template"] = template  # not a submodule: the stacked tensors are the only parameters

    @classmethod
    def build_model(cls, args, task):
        if not getattr(args, "ensemble_arch", None):
            raise UsageError("--arch seed_ensemble needs --ensemble-arch (the learner of every seed, e.g. transformer)")
        if args.ensemble_arch not in ARCH_MODEL_REGISTRY or args.ensemble_arch == "seed_ensemble":
            raise UsageError(f"--ensemble-arch {args.ensemble_arch!r} is not a fairseq architecture")
        seeds = parse_seeds(getattr(args, "ensemble_seeds", None))
        base_args = argparse.Namespace(**vars(args))
        base_args.arch = STACKED_AS.get(args.ensemble_arch, args.ensemble_arch)
        ARCH_CONFIG_REGISTRY[args.ensemble_arch](base_args)
        base_cls = ARCH_MODEL_REGISTRY[base_args.arch]
        models = []
        for seed in seeds:
            utils.set_torch_seed(seed)  # what fairseq-train does before building a single run's model
            models.append(base_cls.build_model(base_args, task))
        return cls(args, models)

    def _apply(self, fn, *args, **kwargs):  # .to(), .cuda(), .half() reach the template's own tensors too
        self.template._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def train(self, mode=True):
        self.template.train(mode)
        return super().train(mode)

    def tensors(self):
        stacked = dict(self.stacked.named_parameters(), **dict(self.stacked.named_buffers()))
        return {name: stacked[stacked_name(name)] for name in self.names + self.buffer_names}

    def begin_update(self, update_num):
        """Seed every seed's dropout generator as fairseq seeds a single run before update ``update_num``."""
        device = next(self.stacked.parameters()).device
        for k, seed in enumerate(self.seeds):
            if self.generators[k].device != device:  # the list is shared with every SeedDropout
                self.generators[k] = torch.Generator(device=device)
            self.generators[k].manual_seed(seed + update_num)

    def clip_per_seed(self, max_norm, sample_size):
        """Each seed's gradient norm after fairseq divides by ``sample_size``; with ``max_norm`` > 0, each seed's
        gradient scaled as fairseq's ``--clip-norm`` scales a single run's."""
        grads = [p.grad for p in self.stacked.parameters() if p.grad is not None]
        k = len(self.seeds)
        norms = torch.stack([g.reshape(k, -1).pow(2).sum(1) for g in grads]).sum(0).sqrt() / sample_size
        if max_norm > 0:
            scale = (max_norm / (norms + 1e-6)).clamp(max=1)
            for grad in grads:
                grad.mul_(scale.view(k, *[1] * (grad.dim() - 1)))
        return norms

    def seed_losses(self, criterion, sample):
        """Each seed's (loss, nll_loss) of ``criterion.compute_loss`` on ``sample``, as two tensors of shape [K]."""
        return self.per_seed(lambda model, net_output, sample: criterion.compute_loss(model, net_output, sample,
                                                                                     reduce=True), sample)

    def per_seed(self, compute, sample):
        """``compute(model, net_output, sample)`` for every seed in one vmapped call, stacked along a leading seed
        axis. ``sample`` is one batch that every seed reads, or one batch per seed (seed_ensemble_steps.stack_samples:
        its net_input and target carry the seed axis)."""
        template = self.template

        def one_seed(tensors, net_input, target):
            net_output = functional_call(template, tensors, kwargs=net_input)
            return compute(template, net_output, dict(sample, net_input=net_input, target=target))

        sample_dim = 0 if sample.get(PER_SEED) else None
        try:
            with stackable_modules():
                return vmap(one_seed, in_dims=(0, sample_dim, sample_dim), randomness="error")(
                    self.tensors(), sample["net_input"], sample["target"])
        except RuntimeError as err:
            if "randomness" in str(err):
                raise UsageError(f"--ensemble-arch {self.args.ensemble_arch}: a module draws random numbers "
                                 "other than through FairseqDropout, so its seeds cannot be stacked") from None
            raise

    def max_positions(self):
        return self.template.max_positions()

    def max_decoder_positions(self):
        return self.template.max_decoder_positions()

    def forward(self, *args, **kwargs):
        raise UsageError("a seed_ensemble checkpoint is trained, not decoded: split it into one checkpoint per seed "
                         "with python -m tools.split_ensemble")


@register_model_architecture("seed_ensemble", "seed_ensemble")
def seed_ensemble(args):
    if getattr(args, "ensemble_arch", None) in ARCH_CONFIG_REGISTRY:
        ARCH_CONFIG_REGISTRY[args.ensemble_arch](args)
