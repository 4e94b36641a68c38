/// The architectures a random model can have (the published Stable Diffusion 1.5 and 2.1-base), with their
/// diffusers configs.
public enum RandomModelArchitecture: String, CaseIterable, Sendable {
    case sd15, sd21base

    /// The config files of the diffusers folder, by path in the folder (values as in the published SD 1.5 /
    /// SD 2.1-base folders), in the order they are written.
    public var configFiles: [(path: String, json: String)] {
        [
            ("model_index.json", modelIndex), ("unet/config.json", unet), ("vae/config.json", vae),
            ("text_encoder/config.json", textEncoder), ("scheduler/scheduler_config.json", scheduler),
        ]
    }

    /// The tokenizer's padding token: SD 2.x's tokenizer pads with "!".
    public var padToken: String { self == .sd15 ? "<|endoftext|>" : "!" }

    private var modelIndex: String {
        """
        {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.27.0", "feature_extractor": [null, null], \
        "requires_safety_checker": false, "safety_checker": [null, null], "scheduler": ["diffusers", "PNDMScheduler"], \
        "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"], \
        "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}
        """
    }

    private var unet: String {
        let sd15 = self == .sd15
        return """
            {"_class_name": "UNet2DConditionModel", "_diffusers_version": "0.27.0", "act_fn": "silu", \
            "attention_head_dim": \(sd15 ? "8" : "[5, 10, 20, 20]"), "block_out_channels": [320, 640, 1280, 1280], \
            "center_input_sample": false, "cross_attention_dim": \(sd15 ? 768 : 1024), \
            "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"], \
            "downsample_padding": 1, "dual_cross_attention": false, "flip_sin_to_cos": true, "freq_shift": 0, \
            "in_channels": 4, "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05, \
            "norm_num_groups": 32, \
            "num_class_embeds": null, "only_cross_attention": false, "transformer_layers_per_block": 1, \
            "out_channels": 4, "sample_size": 64, \
            "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"], \
            "upcast_attention": false, "use_linear_projection": \(sd15 ? "false" : "true")}
            """
    }

    private var vae: String {
        let sd15 = self == .sd15
        return """
            {"_class_name": "AutoencoderKL", "_diffusers_version": "0.27.0", "act_fn": "silu", \
            "block_out_channels": [128, 256, 512, 512], \
            "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"], \
            "in_channels": 3, "latent_channels": 4, "layers_per_block": 2, "norm_num_groups": 32, "out_channels": 3, \
            "sample_size": \(sd15 ? 512 : 768), "scaling_factor": 0.18215, \
            "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"]}
            """
    }

    private var textEncoder: String {
        let sd15 = self == .sd15
        return """
            {"architectures": ["CLIPTextModel"], "attention_dropout": 0.0, "bos_token_id": 0, "dropout": 0.0, \
            "eos_token_id": 2, "hidden_act": "\(sd15 ? "quick_gelu" : "gelu")", "hidden_size": \(sd15 ? 768 : 1024), \
            "initializer_factor": 1.0, "initializer_range": 0.02, "intermediate_size": \(sd15 ? 3072 : 4096), \
            "layer_norm_eps": 1e-05, "max_position_embeddings": 77, "model_type": "clip_text_model", \
            "num_attention_heads": \(sd15 ? 12 : 16), "num_hidden_layers": \(sd15 ? 12 : 23), "pad_token_id": 1, \
            "projection_dim": \(sd15 ? 768 : 512), "torch_dtype": "float16", "vocab_size": 49408}
            """
    }

    private var scheduler: String {
        """
        {"_class_name": "PNDMScheduler", "_diffusers_version": "0.27.0", "beta_end": 0.012, \
        "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": false, "num_train_timesteps": 1000, \
        "prediction_type": "epsilon", "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1, \
        "timestep_spacing": "leading", "trained_betas": null}
        """
    }
}
