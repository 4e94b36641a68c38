/// The globals a checkpoint pickle may name, and what the unpickler makes of each. Nothing here is ever
/// imported or called: a name outside these sets is refused before anything else happens, and a name inside
/// them only selects which inert value (`PickleValue`) the unpickler builds.
enum PickleAllowList {
    /// Storage classes torch writes in persistent ids, and the dtype each stores.
    static let storageTypes: [String: TensorDType] = [
        "torch.FloatStorage": .f32, "torch.HalfStorage": .f16, "torch.BFloat16Storage": .bf16,
        "torch.DoubleStorage": .f64, "torch.LongStorage": .i64, "torch.IntStorage": .i32,
        "torch.ShortStorage": .i16, "torch.CharStorage": .i8, "torch.ByteStorage": .u8,
        "torch.BoolStorage": .bool,
    ]

    /// Functions a pickle may REDUCE with, each emulated by `Unpickler.reduce`: tensor rebuilding, the
    /// containers of a module's `__dict__` (protocol 2 writes sets as `__builtin__.set`), and the no-argument
    /// backend marker every module of torch < 1.5 carried (`_backend`), which is kept as an empty record.
    static let callables: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
        "__builtin__.set", "builtins.set", "torch.nn.backends.thnn._get_thnn_function_backend",
    ]

    /// Module classes a pickle may instantiate (NEWOBJ with no arguments, then BUILD with the instance's
    /// `__dict__`): torchxrayvision's DenseNet and exactly the torch.nn layers it is made of. Each becomes a
    /// `PickleObject`; its `__init__` and `__setstate__` are never run.
    static let moduleClasses: Set<String> = [
        "torchxrayvision.models.DenseNet", "torchxrayvision.models._DenseBlock",
        "torchxrayvision.models._DenseLayer", "torchxrayvision.models._Transition",
        "torch.nn.modules.container.Sequential", "torch.nn.modules.conv.Conv2d",
        "torch.nn.modules.batchnorm.BatchNorm2d", "torch.nn.modules.activation.ReLU",
        "torch.nn.modules.pooling.MaxPool2d", "torch.nn.modules.pooling.AvgPool2d",
        "torch.nn.modules.linear.Linear",
    ]

    /// Whether a pickle may name `global` ("module.name") at all.
    static func allows(_ global: String) -> Bool {
        callables.contains(global) || storageTypes[global] != nil || moduleClasses.contains(global)
    }
}
