export interface ThingConfigA extends cdktf.TerraformMetaArguments {
    /**
    * Docs at Terraform Registry: {@link https://registry.terraform.io/providers/hashicorp/aws/6.25.0/docs/resources/thing#name Thing#name}
    */
    readonly name: string;
    /**
    * Docs at Terraform Registry: {@link https://registry.terraform.io/providers/hashicorp/aws/6.25.0/docs/resources/thing#ids Thing#ids}
    */
    readonly ids?: string[];
    /**
    * config block
    *
    * Docs at Terraform Registry: {@link https://registry.terraform.io/providers/hashicorp/aws/6.25.0/docs/resources/thing#config Thing#config}
    */
    readonly config: ThingConfig;
    /**
    * rule block
    *
    * Docs at Terraform Registry: {@link https://registry.terraform.io/providers/hashicorp/aws/6.25.0/docs/resources/thing#rule Thing#rule}
    */
    readonly rule?: ThingRule[] | cdktf.IResolvable;
}
export interface ThingConfig {
    /**
    * Docs at Terraform Registry: {@link https://registry.terraform.io/providers/hashicorp/aws/6.25.0/docs/resources/thing#size Thing#size}
    */
    readonly size?: number;
}
export interface ThingRule {
    /**
    * Docs at Terraform Registry: {@link https://registry.terraform.io/providers/hashicorp/aws/6.25.0/docs/resources/thing#prefix Thing#prefix}
    */
    readonly prefix: string;
}
